/**
 * Child process for thread-pool.test.ts: reports the `nice` of libuv's pool threads before and after
 * createRegstack, in a process of its own so no other test has touched them. argv[2]: regstack options (JSON).
 */
import { randomBytes, randomFill } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRegstack, parseConfig, silentLogger } from '@regstack/server';

function niceOf(tid: string | number): number {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

function poolNices(): number[] {
  return readdirSync('/proc/self/task')
    .filter((tid) => readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === 'libuv-worker')
    .map(niceOf);
}

await new Promise<void>((resolve) => randomFill(new Uint8Array(1), () => resolve())); // start the pool
const before = poolNices();
const regstack = await createRegstack({
  config: parseConfig({
    jwtSecret: randomBytes(32).toString('base64url'),
    databaseUrl: 'sqlite::memory:',
    baseUrl: 'http://127.0.0.1',
    ...JSON.parse(process.argv[2] ?? '{}'),
  }),
  logger: silentLogger,
  startWorkers: false,
});
const after = poolNices();
const mainNice = niceOf(process.pid);
await regstack.close();
console.log(JSON.stringify({ before, after, mainNice }));
