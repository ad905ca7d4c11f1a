// The hashing process (server/src/security/argon2-process.ts): every argon2 call runs in a child process at
// `hash_thread_priority`, so neither the hashing nor its completions can hold up the host's event loop (a niced
// pool thread holding the host loop's completion mutex stalled it; docs/password-hashing.md), and
// the host's own threads keep their priority. Checked here: the priorities of both processes; no argon2 job is
// ever started in the host; the results are the library's own; a killed hashing process fails only the calls in
// flight, with SERVER_BUSY, and the next call gets a new one; the host stays alive exactly while it needs the
// hashing process, exits cleanly even with a hash in flight, and takes the hashing process with it.

import { createHook } from 'node:async_hooks';
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { RegstackError } from '@regstack/server';
import {
  Argon2ProcessExitedError,
  argon2ProcessPid,
  createPasswordHasher,
  hashingPoolThreads,
  startArgon2Process,
  verifyInArgon2Process,
} from '@regstack/server/internal';
import { hash as argon2Hash, argon2id, verify as argon2Verify } from 'argon2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNodeChild } from '../harness/node-child.ts';

const fastOptions = { memoryKib: 1024, iterations: 1, unsafeAllowWeakParametersForTests: true } as const;
/** The async resource type of the argon2 package's native job (its AsyncWorker's resource name). */
const ARGON2_JOB = 'argon2:HashWorker';
/** `@regstack/server/internal` as the child scripts below import it (they run with our source condition). */
const INTERNAL = JSON.stringify(import.meta.resolve('@regstack/server/internal'));

/** Runs `work` and returns the async resource types this process created meanwhile. */
async function resourcesCreatedDuring(work: () => Promise<unknown>): Promise<string[]> {
  const types: string[] = [];
  const hook = createHook({ init: (_id, type) => void types.push(type) }).enable();
  try {
    await work();
  } finally {
    hook.disable();
  }
  return types;
}

/** Whether `pid` runs (a zombie, ended but not yet reaped by whoever adopted it, does not). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'regstack-argon2-process-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** Writes an ES module script into the scratch directory and returns its path. */
async function script(name: string, source: string): Promise<string> {
  const file = join(scratch, name);
  await writeFile(file, source);
  return file;
}

/** What argon2-process-child.ts reports: thread nices by name, and the hashing process after each instance. */
type ChildReport = {
  hostBefore: Record<string, number[]>;
  hostAfter: Record<string, number[]>;
  hashingPid: number | undefined;
  hashing: Record<string, number[]>;
  hostPid: number;
  pids: (number | undefined)[];
  replacedAlive: number[];
  cores: number;
};

/** Creates one regstack instance per options object, in turn, in a fresh process; reports on its threads. */
const runChild = (...instances: Record<string, unknown>[]) =>
  runNodeChild<ChildReport>(
    fileURLToPath(new URL('./argon2-process-child.ts', import.meta.url)),
    instances.map((options) => JSON.stringify(options)),
    'argon2-process',
  );

describe.skipIf(process.platform !== 'linux')('the hashing process: priorities', () => {
  const run = runChild;

  /** The nices of the hashing process's threads other than its libuv pool. */
  const otherThreads = (threads: Record<string, number[]>) =>
    Object.entries(threads).flatMap(([name, nices]) => (name === 'libuv-worker' ? [] : nices));

  it("runs the hashing process's pool threads at nice 10 by default, and leaves the host alone", async () => {
    const report = await run({});
    expect(report.hashingPid).toBeTypeOf('number');
    expect(report.hashingPid).not.toBe(report.hostPid);
    const pool = report.hashing['libuv-worker'] ?? [];
    expect(pool.length).toBeGreaterThan(0); // argon2's pool threads exist…
    expect(pool.every((n) => n === 10)).toBe(true); // …at 10,
    expect(otherThreads(report.hashing).length).toBeGreaterThan(0);
    expect(otherThreads(report.hashing).every((n) => n === 0)).toBe(true); // and the thread that answers is not
    expect(report.hostBefore['libuv-worker']?.length).toBeGreaterThan(0);
    expect(report.hostAfter['libuv-worker']).toEqual(report.hostBefore['libuv-worker']); // the host's pool: untouched
    expect(
      Object.values(report.hostAfter)
        .flat()
        .every((n) => n === 0),
    ).toBe(true);
  });

  it('uses the configured value, and normal priority at 0', async () => {
    const at15 = await run({ hashThreadPriority: 15 });
    expect(at15.hashing['libuv-worker']?.every((n) => n === 15)).toBe(true);
    expect(otherThreads(at15.hashing).every((n) => n === 0)).toBe(true);
    const off = await run({ hashThreadPriority: 0 });
    expect(off.hashing['libuv-worker']?.length).toBeGreaterThan(0);
    expect(
      Object.values(off.hashing)
        .flat()
        .every((n) => n === 0),
    ).toBe(true);
  });

  it('lowers a running process further for a later instance that asks for more, and never raises it', async () => {
    // One hashing process per host process: the second instance finds it running at 10.
    const raised = await run({}, { hashThreadPriority: 15 });
    expect(raised.hashing['libuv-worker']?.length).toBeGreaterThan(0);
    expect(raised.hashing['libuv-worker']?.every((n) => n === 15)).toBe(true);
    expect(otherThreads(raised.hashing).every((n) => n === 0)).toBe(true);
    const kept = await run({ hashThreadPriority: 15 }, {});
    expect(kept.hashing['libuv-worker']?.every((n) => n === 15)).toBe(true);
  });
});

describe.skipIf(process.platform !== 'linux')('the hashing process: pool size', () => {
  const run = runChild;
  const poolThreads = (report: ChildReport) => report.hashing['libuv-worker']?.length;

  it('has a pool thread per core by default, one per call when hash_concurrency is lower, and never more', async () => {
    const byDefault = await run({});
    // The default hash_concurrency is cores + 1: the extra call waits in the hashing process's queue.
    expect(poolThreads(byDefault)).toBe(byDefault.cores);
    expect(poolThreads(await run({ hashConcurrency: 1 }))).toBe(1);
    // More calls allowed than cores (and whatever UV_THREADPOOL_SIZE says): still a thread per core.
    expect(poolThreads(await run({ hashConcurrency: byDefault.cores + 5 }))).toBe(byDefault.cores);
  });

  it('replaces the process with a bigger one for a later instance that gets more threads, and ends the old one', async (ctx) => {
    const grown = await run({ hashConcurrency: 1 }, { hashThreadPriority: 15 });
    if (grown.cores < 2) ctx.skip(); // one core: every instance gets one thread
    expect(new Set(grown.pids).size).toBe(2);
    expect(grown.hashingPid).toBe(grown.pids[1]);
    expect(poolThreads(grown)).toBe(grown.cores);
    expect(grown.hashing['libuv-worker']?.every((n) => n === 15)).toBe(true);
    expect(grown.replacedAlive).toEqual([]); // the first process ended once idle
    // A later instance that would get fewer threads keeps the running process.
    const kept = await run({}, { hashConcurrency: 1 });
    expect(new Set(kept.pids).size).toBe(1);
    expect(poolThreads(kept)).toBe(kept.cores);
  });

  it('sizes the pool from the cores and the calls allowed', () => {
    expect(hashingPoolThreads(3, 2)).toBe(2);
    expect(hashingPoolThreads(17, 16)).toBe(16);
    expect(hashingPoolThreads(6, 16)).toBe(6);
    expect(hashingPoolThreads(1, 16)).toBe(1);
    expect(hashingPoolThreads(64, 1)).toBe(1);
  });
});

describe('the hashing process: calls', () => {
  it('starts no argon2 job in the host process, where a direct call does start one', async () => {
    const hasher = createPasswordHasher(fastOptions);
    await startArgon2Process(10, 3);
    const viaHasher = await resourcesCreatedDuring(async () => {
      const phc = await hasher.hash('a password for the hashing process');
      expect(await hasher.verify(phc, 'a password for the hashing process')).toBe(true);
      expect(await hasher.verify(phc, 'another password')).toBe(false);
      await hasher.verifyDummy('whatever');
    });
    expect(viaHasher).not.toContain(ARGON2_JOB);
    // The control: the hook does see the job when the library is called in this process.
    const direct = await resourcesCreatedDuring(() =>
      argon2Hash('x', { type: argon2id, memoryCost: 1024, timeCost: 1 }),
    );
    expect(direct).toContain(ARGON2_JOB);
  });

  it('answers every call when more are in flight than the pool has threads (they wait in the hashing process)', async () => {
    const hasher = createPasswordHasher({ ...fastOptions, concurrency: 8 });
    expect(hashingPoolThreads(8)).toBeLessThan(8 + 1); // at most a thread per core: here fewer than the calls
    const phc = await hasher.hash('queued in the hashing process');
    const passwords = Array.from({ length: 8 }, (_, i) =>
      i % 2 === 0 ? 'queued in the hashing process' : `wrong ${i}`,
    );
    const verdicts = await Promise.all(passwords.map((p) => hasher.verify(phc, p)));
    expect(verdicts).toEqual(passwords.map((_, i) => i % 2 === 0));
    expect(hasher.stats).toMatchObject({ active: 0, queued: 0, shed: 0 });
  });

  it("gives the library's own results: each side verifies what the other hashed", async () => {
    const hasher = createPasswordHasher(fastOptions);
    const fromProcess = await hasher.hash('pässwörd 🔑');
    expect(await argon2Verify(fromProcess, 'pässwörd 🔑')).toBe(true);
    expect(await argon2Verify(fromProcess, 'pässwörd')).toBe(false);
    const fromLibrary = await argon2Hash('pässwörd 🔑', { type: argon2id, memoryCost: 1024, timeCost: 1 });
    expect(await hasher.verify(fromLibrary, 'pässwörd 🔑')).toBe(true);
    expect(await hasher.verify(fromLibrary, 'pässwörd')).toBe(false);
  });

  it('fails the calls in flight with SERVER_BUSY when the process is killed, and the next call gets a new one', async () => {
    // A deliberately slow hash (64 MiB × 8) so the calls are still running when the process is killed.
    const slow = await argon2Hash('slow', { type: argon2id, memoryCost: 65_536, timeCost: 8 });
    const hasher = createPasswordHasher({ ...fastOptions, retryAfterSeconds: 2 });
    await startArgon2Process(10, 3);
    const killed = argon2ProcessPid();
    expect(killed).toBeTypeOf('number');
    const settled = Promise.allSettled([
      verifyInArgon2Process(slow, 'slow', 10, 3),
      hasher.verify(slow, 'slow'),
      hasher.verify(slow, 'wrong'),
    ]);
    process.kill(killed as number, 'SIGKILL');
    const [direct, ...viaHasher] = await settled;
    expect(direct?.status).toBe('rejected');
    expect((direct as PromiseRejectedResult).reason).toBeInstanceOf(Argon2ProcessExitedError);
    expect(String((direct as PromiseRejectedResult).reason)).toMatch(/SIGKILL/);
    for (const result of viaHasher) {
      expect(result.status).toBe('rejected');
      const reason = (result as PromiseRejectedResult).reason as RegstackError;
      expect(reason).toBeInstanceOf(RegstackError);
      expect(reason.code).toBe('SERVER_BUSY');
      expect(reason.retryAfterSeconds).toBe(2);
    }
    expect(hasher.stats).toMatchObject({ active: 0, queued: 0 });
    const phc = await hasher.hash('after the restart');
    expect(await hasher.verify(phc, 'after the restart')).toBe(true);
    expect(argon2ProcessPid()).not.toBe(killed);
  });
});

describe('the hashing process: the host process lifecycle', () => {
  const exec = promisify(execFile);
  const node = (file: string) =>
    exec(process.execPath, ['--conditions=@regstack/source', '--disable-warning=ExperimentalWarning', file], {
      timeout: 30_000,
    });

  it('keeps the host alive while it starts and while a call is in flight, and lets it exit when idle', async () => {
    // Nothing but the start-up, then the calls, keeps this host's event loop alive: it must print the result and
    // then end by itself (execFile's timeout would kill a host the idle hashing process kept alive; an unsettled
    // await would end it early with code 13).
    const file = await script(
      'idle.mjs',
      `const { createPasswordHasher, startArgon2Process } = await import(${INTERNAL});
       await startArgon2Process(10, 3);
       const hasher = createPasswordHasher({ memoryKib: 1024, iterations: 1, unsafeAllowWeakParametersForTests: true });
       const phc = await hasher.hash('child password');
       console.log(String(await hasher.verify(phc, 'child password')));`,
    );
    const { stdout } = await node(file);
    expect(stdout.trim()).toBe('true');
  });

  it('lets the host exit cleanly with process.exit while a hash is in flight', async () => {
    // A worker thread in this role made process.exit abort the host (SIGABRT in the argon2 package's completion).
    const file = await script(
      'exit.mjs',
      `const { createPasswordHasher } = await import(${INTERNAL});
       const hasher = createPasswordHasher({ memoryKib: 65536, iterations: 8 });
       const pending = hasher.hash('slow child password');
       setTimeout(() => process.exit(0), 150);
       await pending;
       process.exit(3); // the hash finished before the exit: the test's premise failed`,
    );
    await expect(node(file)).resolves.toMatchObject({ stdout: '' });
  });

  it('ends the hashing process when the host is killed', async () => {
    const file = await script(
      'killed.mjs',
      `const { startArgon2Process, argon2ProcessPid } = await import(${INTERNAL});
       await startArgon2Process(10, 3);
       console.log(argon2ProcessPid());
       setInterval(() => {}, 1000);`,
    );
    const host = spawn(
      process.execPath,
      ['--conditions=@regstack/source', '--disable-warning=ExperimentalWarning', file],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const hashingPid = await new Promise<number>((resolve, reject) => {
      host.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      host.once('exit', () => reject(new Error('the host ended before it started the hashing process')));
    });
    expect(alive(hashingPid)).toBe(true);
    host.kill('SIGKILL');
    await until(() => !alive(hashingPid), 'the hashing process has ended');
  });
});
