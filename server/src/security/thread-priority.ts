/**
 * Lowers the scheduling priority of the libuv pool threads of the calling process, where argon2 computes —
 * used by the hashing process (argon2-process.child.ts), never by the host's. Its main thread keeps its
 * priority, so that a finished hash goes back to the host as soon as it is done. On Linux,
 * `setpriority(PRIO_PROCESS, tid)` applies to one thread, so each pool thread (named `libuv-worker`) listed in
 * /proc/self/task is changed; elsewhere `setpriority` applies to the whole process. Priorities are only ever
 * lowered (a higher `nice`), never raised, which needs privileges.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { setPriority } from 'node:os';

/** The `nice` of thread `tid`, from /proc (field 19 of its stat line). */
function niceOf(tid: string): number {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

/**
 * Gives every libuv pool thread of this process at least `nice` (0–19); libuv starts them all on its first job,
 * so run one first. Returns the number of threads changed. Never throws: a thread that vanished, or a
 * platform without /proc, just means fewer threads changed.
 */
export function lowerPoolPriority(nice: number): number {
  if (nice <= 0) return 0;
  if (process.platform !== 'linux') {
    try {
      setPriority(nice);
      return 1;
    } catch {
      return 0;
    }
  }
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return 0;
  }
  let changed = 0;
  for (const tid of tids) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() !== 'libuv-worker') continue;
      if (niceOf(tid) >= nice) continue;
      setPriority(Number(tid), nice);
      changed += 1;
    } catch {
      // The thread is gone or its priority cannot be changed: leave it.
    }
  }
  return changed;
}
