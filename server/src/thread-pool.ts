/**
 * Keeps request handling ahead of password hashing on a busy machine. argon2 runs on libuv's thread pool and
 * is CPU-bound by design; under a login flood its threads want every core, and the event loop — which answers
 * every other request — then waits its turn with them. Lowering the pool threads' scheduling priority (a
 * higher `nice`) leaves hashing all the CPU nobody else wants while the event loop gets a core the moment it
 * needs one: measured on 2 cores (bench/), `auth.account.me` p99 during a login flood fell from ≈ 25 ms to
 * ≈ 11 ms with login throughput unchanged.
 *
 * This is a process-wide change: the pool also runs `fs`, `dns.lookup`, zlib and async `crypto` work, which
 * then also yields to the event loop when the CPU is saturated (and only then). Linux only (threads are found
 * in /proc by the name libuv gives them, "libuv-worker"); elsewhere, or when the pool threads cannot be found,
 * nothing changes. Priorities are only ever lowered, never raised (raising needs privileges), so the change
 * outlives `regstack.close()`. `hash_thread_priority = 0` turns it off.
 */
import { randomFill } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { setPriority } from 'node:os';

/** The `nice` of thread `tid`, from /proc (field 19 of its stat line). */
function niceOf(tid: string): number {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

/**
 * Gives every libuv pool thread at least `nice` (0–19). Resolves to the number of threads changed. Never
 * throws: a platform without /proc, or a thread that vanished, just means fewer threads changed.
 */
export async function lowerThreadPoolPriority(nice: number): Promise<number> {
  if (nice <= 0 || process.platform !== 'linux') return 0;
  // libuv starts all pool threads on the first job; one tiny job makes sure they exist.
  await new Promise<void>((resolve) => randomFill(new Uint8Array(1), () => resolve()));
  let changed = 0;
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return 0;
  }
  for (const tid of tids) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() !== 'libuv-worker') continue;
      if (niceOf(tid) >= nice) continue;
      // On Linux setpriority(PRIO_PROCESS, tid) applies to that one thread.
      setPriority(Number(tid), nice);
      changed += 1;
    } catch {
      // The thread is gone or its priority cannot be changed: leave it.
    }
  }
  return changed;
}
