/**
 * argon2 in a process of its own, so that password hashing never holds up the event loop and never changes
 * the host's threads.
 *
 * argon2 is CPU-bound by design: a login flood wants every core, while the event loop, which answers every
 * other request, needs one the moment a request arrives. regstack runs hashing at a lower priority
 * (`hash_thread_priority`, a `nice` of 10 by default) so it only gets the CPU nobody else wants. It used to
 * renice libuv's pool threads inside the host process, which had two costs:
 *
 * - a priority inversion. A pool thread that finishes a job takes a mutex of the event loop that started it
 *   and signals that loop while holding it; the loop takes the same mutex to collect finished jobs. A niced
 *   pool thread preempted while holding it blocked the event loop until it got a core again, which takes long
 *   whenever other `nice` 0 work fills the cores (docs/password-hashing.md);
 * - the host's own pool work (`fs`, `dns.lookup`, zlib, async `crypto`) was niced too.
 *
 * A worker thread avoids the first, but not safely: ending a worker while an argon2 job is in flight (as
 * `process.exit` does) aborts the whole process inside the `argon2` package's native completion. A child
 * process shares no memory and no mutex with the host: it runs at its own priority, its pool signals its own
 * loop, and results arrive over a socket, which the kernel delivers without any lock of the host's. Only its
 * pool threads, where argon2 computes, are niced; its main thread, which sends the results back, is not.
 *
 * One hashing process serves the whole host process, started on first use (`startArgon2Process` starts it
 * ahead of time); each caller asks for its `nice` and the process keeps the highest asked for (priorities are
 * only lowered). Each caller also says how many calls it may have in flight (its `hash_concurrency`): the
 * process's libuv pool, which libuv sizes once per process from `UV_THREADPOOL_SIZE`, gets a thread per core, or
 * one per call when fewer calls are allowed (`hashingPoolThreads`), whatever the host's setting of that variable;
 * a caller that would get more threads than the running process has gets a new, bigger process, and the old one
 * ends once it has answered its calls.
 * It keeps the host alive only while a call is in flight, and ends when the host ends. If it dies, the calls
 * in flight reject with `Argon2ProcessExitedError` and the next call starts a new one.
 * Passwords cross only the IPC socket and are never logged on either side.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A request to the hashing process. Exported for the child's types only. */
export type Argon2Request =
  | { id: number; op: 'verify'; phc: string; password: string }
  | {
      id: number;
      op: 'hash';
      password: string;
      salt: Uint8Array;
      memoryKib: number;
      iterations: number;
      parallelism: number;
      hashLength: number;
      version: number;
    }
  | { id: number; op: 'nice'; nice: number };

/** A request before it gets its id (`Omit` distributed over the union). */
type Unnumbered<R> = R extends Argon2Request ? Omit<R, 'id'> : never;

/** The child's answer: a verdict, a raw digest, or the library's error message. */
export type Argon2Reply =
  | { id: number; ok: boolean }
  | { id: number; digest: Uint8Array }
  | { id: number; error: string };

export interface Argon2HashParameters {
  memoryKib: number;
  iterations: number;
  parallelism: number;
  hashLength: number;
  version: number;
}

/** The hashing process ended (crashed, was killed) before it answered. Transient: the next call starts a new one. */
export class Argon2ProcessExitedError extends Error {
  override name = 'Argon2ProcessExitedError';
}

interface Pending {
  resolve(reply: Argon2Reply): void;
  reject(err: Error): void;
}

interface Hashing {
  child: ChildProcess;
  ready: Promise<void>;
  pending: Map<number, Pending>;
  /** The highest `nice` asked for so far (sent before any request that needs it: the channel keeps order). */
  nice: number;
  /** Settles once the process runs at `nice`: at start-up it applies its argv's, later ones arrive as messages. */
  niced: Promise<void>;
  /** Its libuv pool threads (`UV_THREADPOOL_SIZE`, fixed for the life of a process). */
  threads: number;
  /**
   * Marks it replaced by a bigger process (it gets no new calls): it ends once idle — at once, or after its
   * start-up (so whoever awaits that still hears it) or its last answer.
   */
  retire(): void;
}

/**
 * The hashing process's pool threads for a caller allowed `concurrency` calls at once: one per core the process
 * may use (`os.availableParallelism()`, which follows the affinity mask and a cgroup CPU quota), or one per call
 * when fewer are allowed. Never more than the cores: argon2 is CPU- and memory-bound, so more threads than cores
 * only take turns on them, each switch evicting another hash's memory from the caches — fewer hashes per second
 * for the same CPU (docs/password-hashing.md). Calls beyond the threads wait in libuv's queue inside the hashing
 * process and start the moment a thread is free, so with one call more than the cores in flight (the default
 * `hash_concurrency`) a core never idles between two hashes.
 */
export function hashingPoolThreads(concurrency: number, cores: number = hostCores()): number {
  return Math.max(1, Math.min(concurrency, cores));
}

let cores: number | undefined;
/** `os.availableParallelism()`, read once: it asks the kernel (and reads the cgroup's quota) at every call. */
function hostCores(): number {
  cores ??= availableParallelism();
  return cores;
}

let current: Hashing | undefined;
let nextId = 1;

/** Keeps the host alive while the process starts or a call is in flight, and only then. */
function hold(child: ChildProcess, held: boolean) {
  if (held) {
    child.ref();
    child.channel?.ref();
  } else {
    child.unref();
    child.channel?.unref();
  }
}

function spawn(nice: number, threads: number): Hashing {
  const ext = extname(fileURLToPath(import.meta.url)); // .ts from source, .js from dist
  const { NODE_OPTIONS: _hostOptions, ...env } = process.env; // the host's preloads and flags are not ours
  const child = fork(fileURLToPath(new URL(`./argon2-process.child${ext}`, import.meta.url)), [String(nice)], {
    execArgv: ['--disable-warning=ExperimentalWarning'],
    env: { ...env, UV_THREADPOOL_SIZE: String(threads) },
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const pending = new Map<number, Pending>();
  let started = false;
  let markReady: () => void = () => {};
  let markFailed: (err: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    markFailed = reject;
  });
  ready.catch(() => {}); // observed by startArgon2Process callers; calls in flight learn of it through `fail`
  let retiring = false;
  /** Idle now: let the host exit, or, once replaced, end (the child exits when its channel closes). */
  const idle = () => {
    if (!retiring) hold(child, false);
    else if (child.connected) child.disconnect();
  };
  const retire = () => {
    retiring = true;
    if (started && pending.size === 0) idle();
  };
  const hashing: Hashing = { child, ready, pending, nice, niced: ready, threads, retire };

  const fail = (err: Error) => {
    if (current === hashing) current = undefined;
    markFailed(err);
    for (const call of pending.values()) call.reject(err);
    pending.clear();
  };
  child.on('message', (message: Argon2Reply | 'ready') => {
    if (message === 'ready') {
      started = true;
      markReady();
      if (pending.size === 0) idle();
      return;
    }
    const call = pending.get(message.id);
    if (call === undefined) return;
    pending.delete(message.id);
    if (pending.size === 0 && started) idle();
    call.resolve(message);
  });
  child.on('error', (err) => fail(new Argon2ProcessExitedError(`The hashing process failed: ${err.message}`)));
  child.on('exit', (code, signal) =>
    fail(new Argon2ProcessExitedError(`The hashing process exited (${signal ?? `code ${code}`})`)),
  );
  return hashing;
}

/**
 * The running hashing process, started if need be, at no less than `nice` and with pool threads for `concurrency`
 * calls at once (`hashingPoolThreads`).
 */
function hashing(nice: number, concurrency: number): Hashing {
  const threads = hashingPoolThreads(concurrency);
  const running = current;
  if (running === undefined) {
    current = spawn(nice, threads);
    return current;
  }
  if (threads > running.threads) {
    running.retire();
    current = spawn(Math.max(nice, running.nice), threads);
    return current;
  }
  if (nice > running.nice) {
    running.nice = nice;
    running.niced = send(running, { op: 'nice', nice }).then((reply) => {
      unwrap(reply);
    });
    running.niced.catch(() => {}); // awaited by startArgon2Process; for a call, a failure shows in its request
  }
  return running;
}

function send(target: Hashing, request: Unnumbered<Argon2Request>): Promise<Argon2Reply> {
  const { child, pending } = target;
  const id = nextId++;
  return new Promise<Argon2Reply>((resolve, reject) => {
    if (pending.size === 0) hold(child, true);
    pending.set(id, { resolve, reject });
    child.send({ ...request, id }, (err) => {
      if (err === null || !pending.delete(id)) return;
      reject(new Argon2ProcessExitedError(`The hashing process could not be reached: ${err.message}`));
    });
  });
}

function unwrap(reply: Argon2Reply): Argon2Reply {
  if ('error' in reply) throw new Error(reply.error);
  return reply;
}

/**
 * Starts the hashing process now (at no less than `nice`, with pool threads for `concurrency` calls), so the
 * first password check does not pay for it.
 */
export async function startArgon2Process(nice: number, concurrency: number): Promise<void> {
  const target = hashing(nice, concurrency);
  await target.ready;
  await target.niced; // no round trip when the process started at this priority or above
}

/** Verifies `password` against a PHC string, as `argon2.verify` does, in the hashing process. */
export async function verifyInArgon2Process(
  phc: string,
  password: string,
  nice: number,
  concurrency: number,
): Promise<boolean> {
  const reply = unwrap(await send(hashing(nice, concurrency), { op: 'verify', phc, password }));
  if (!('ok' in reply)) throw new Error('The hashing process answered a verify with a digest');
  return reply.ok;
}

/** Computes a raw argon2id digest, as `argon2.hash(…, { type: argon2id, raw: true })` does, in the hashing process. */
export async function hashInArgon2Process(
  password: string,
  salt: Buffer,
  parameters: Argon2HashParameters,
  nice: number,
  concurrency: number,
): Promise<Buffer> {
  const reply = unwrap(await send(hashing(nice, concurrency), { op: 'hash', password, salt, ...parameters }));
  if (!('digest' in reply)) throw new Error('The hashing process answered a hash with a verdict');
  return Buffer.from(reply.digest.buffer, reply.digest.byteOffset, reply.digest.byteLength);
}

/** The hashing process's pid, or undefined when none runs. For tests and diagnostics (`ps`, `top`). */
export function argon2ProcessPid(): number | undefined {
  return current?.child.pid;
}
