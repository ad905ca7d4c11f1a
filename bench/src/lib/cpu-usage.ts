/**
 * CPU a child spent over one load's window: the whole process (main thread, libuv pool, V8's helpers) from
 * `process.cpuUsage()` plus its own child processes (regstack's hashing process, where argon2 runs) from
 * /proc, and the main thread alone — the event loop, where every request's
 * JavaScript runs — from Linux's `/proc/<pid>/task/<pid>/stat` (Node 22 has no `process.threadCpuUsage`).
 * Dividing the main thread's CPU by the requests served gives its cost per request, which unlike wall time is
 * not inflated by waiting for a core. Also the machine's steal and iowait over the window (see `CpuWindow`).
 * Elsewhere than Linux the main-thread and machine figures are absent.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { CpuWindow } from './protocol.ts';

/** Clock ticks per second of /proc's utime/stime (USER_HZ, 100 on every mainstream Linux). */
const USER_HZ = 100;

/** user + system CPU of a /proc stat line, in ms. */
function statCpuMs(stat: string): number {
  // Fields after the parenthesised command name: state is field 3, utime field 14, stime field 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
}

function mainThreadCpuMs(): number | null {
  try {
    const ms = statCpuMs(readFileSync(`/proc/${process.pid}/task/${process.pid}/stat`, 'utf8'));
    return Number.isFinite(ms) ? ms : null;
  } catch {
    return null;
  }
}

/** Machine-wide steal and iowait so far, in ms summed over CPUs (the first line of /proc/stat). */
function machineMs(): { stealMs: number; iowaitMs: number } | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
    // cpu user nice system idle iowait irq softirq steal …
    const iowait = Number(fields[5]);
    const steal = Number(fields[8]);
    if (!Number.isFinite(iowait) || !Number.isFinite(steal)) return null;
    return { stealMs: (steal * 1000) / USER_HZ, iowaitMs: (iowait * 1000) / USER_HZ };
  } catch {
    return null;
  }
}

/** CPU so far of each running child process of this one (Linux; empty elsewhere), by pid. */
function childrenCpuMs(): Map<number, number> {
  const byPid = new Map<number, number>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const children = readFileSync(`/proc/self/task/${tid}/children`, 'utf8').trim();
      for (const pid of children ? children.split(' ').map(Number) : []) {
        try {
          byPid.set(pid, statCpuMs(readFileSync(`/proc/${pid}/stat`, 'utf8')));
        } catch {
          // ended meanwhile
        }
      }
    }
  } catch {
    // not Linux
  }
  return byPid;
}

/** This process's CPU so far, and each running child's by pid (a child started within a window counts whole). */
function processCpuMs(): { self: number; children: Map<number, number> } {
  const { user, system } = process.cpuUsage();
  return { self: (user + system) / 1000, children: childrenCpuMs() };
}

function cpuSince(start: ReturnType<typeof processCpuMs>, end: ReturnType<typeof processCpuMs>): number {
  let children = 0;
  for (const [pid, ms] of end.children) children += ms - (start.children.get(pid) ?? 0);
  return end.self - start.self + children;
}

export function createCpuMeter() {
  let start:
    | {
        wall: number;
        process: ReturnType<typeof processCpuMs>;
        main: number | null;
        machine: ReturnType<typeof machineMs>;
      }
    | undefined;
  return {
    start(): void {
      start = { wall: performance.now(), process: processCpuMs(), main: mainThreadCpuMs(), machine: machineMs() };
    },
    stop(): CpuWindow {
      if (!start) throw new Error('CPU meter was not started');
      const main = mainThreadCpuMs();
      const machine = machineMs();
      const window: CpuWindow = {
        wallMs: performance.now() - start.wall,
        processCpuMs: cpuSince(start.process, processCpuMs()),
        mainThreadCpuMs: main !== null && start.main !== null ? main - start.main : null,
        machine:
          machine && start.machine
            ? { stealMs: machine.stealMs - start.machine.stealMs, iowaitMs: machine.iowaitMs - start.machine.iowaitMs }
            : null,
      };
      start = undefined;
      return window;
    },
  };
}
