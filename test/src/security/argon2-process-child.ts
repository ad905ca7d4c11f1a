/**
 * Child process for argon2-process.test.ts: reports the `nice` of this (host) process's libuv pool threads and
 * main thread before and after createRegstack, and of every thread of regstack's hashing process, in a process
 * of its own so no other test has started a hashing process; and the cores this process may use. argv[2..]: regstack options (JSON), one instance each.
 */
import { randomBytes, randomFill } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createRegstack, parseConfig, silentLogger } from '@regstack/server';
import { argon2ProcessPid } from '@regstack/server/internal';

function niceOf(pid: number | 'self', tid: string | number): number {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

/** `comm` → nices of the threads of `pid` with that name. */
function threadNices(pid: number | 'self'): Record<string, number[]> {
  const byName: Record<string, number[]> = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    byName[name] = [...(byName[name] ?? []), niceOf(pid, tid)];
  }
  return byName;
}

await new Promise<void>((resolve) => randomFill(new Uint8Array(1), () => resolve())); // start the host's pool
const hostBefore = threadNices('self');
// argv[2..]: the options of each instance, created in turn in this one process (one hashing process for all).
const instances = [];
const pids: (number | undefined)[] = []; // the hashing process after each instance
for (const options of process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['{}']) {
  instances.push(
    await createRegstack({
      config: parseConfig({
        jwtSecret: randomBytes(32).toString('base64url'),
        databaseUrl: 'sqlite::memory:',
        baseUrl: 'http://127.0.0.1',
        ...JSON.parse(options),
      }),
      logger: silentLogger,
      startWorkers: false,
    }),
  );
  pids.push(argon2ProcessPid());
}
const hostAfter = threadNices('self');
const hashingPid = argon2ProcessPid();
const hashing = hashingPid === undefined ? {} : threadNices(hashingPid);
// A process replaced by a bigger one ends once idle: give it up to 5 s.
const replaced = [...new Set(pids)].filter((pid): pid is number => pid !== undefined && pid !== hashingPid);
for (
  const deadline = Date.now() + 5000;
  replaced.some((pid) => existsSync(`/proc/${pid}`)) && Date.now() < deadline;
) {
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const replacedAlive = replaced.filter((pid) => existsSync(`/proc/${pid}`));
for (const regstack of instances) await regstack.close();
const cores = availableParallelism();
console.log(
  JSON.stringify({ hostBefore, hostAfter, hashingPid, hashing, hostPid: process.pid, pids, replacedAlive, cores }),
);
