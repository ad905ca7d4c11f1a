/**
 * Stall watcher (Linux): samples the main thread of every bench server about once a millisecond and reports
 * each stretch of at least `minMs` during which the thread was not parked in `epoll_wait` — how long, the CPU
 * it used, its run-queue wait, the states seen (R running or runnable, S sleeping, D waiting for the disk),
 * the kernel wait channels and, run as root, the kernel stacks of its D samples. It tells a stall the code
 * causes (R with CPU) from starvation (R, run-queue wait), disk waits (D) and lock waits (S, a futex).
 *
 *   node src/tools/stall-watch.ts [seconds=60] [minMs=30]   # start it while `pnpm bench` runs
 *
 * It reads /proc only; it costs some CPU of its own, so figures of a run it watches are not the bench's.
 */
import { readdirSync, readFileSync } from 'node:fs';

const seconds = Number(process.argv[2] ?? '60');
const minMs = Number(process.argv[3] ?? '30');
const read = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};
const SERVERS = /servers\/(regstack|better-auth)-server\.ts/;

function servers(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => SERVERS.test(read(`/proc/${pid}/cmdline`).replace(/\0/g, ' ')));
}

interface Stretch {
  start: number;
  cpuTicks: number;
  runQueueMs: number;
  states: Map<string, number>;
  wchans: Map<string, number>;
  stacks: Map<string, number>;
}

const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
const list = (map: Map<string, number>) => [...map].map(([k, v]) => `${k || '-'}:${v}`).join(' ');

const open = new Map<number, Stretch>();
let pids = servers();
let scanned = Date.now();
const end = Date.now() + seconds * 1000;
console.log(`watching ${pids.length} server(s) for ${seconds} s, stretches ≥ ${minMs} ms`);
while (Date.now() < end) {
  if (Date.now() - scanned > 2000) {
    pids = servers();
    scanned = Date.now();
  }
  const now = performance.now();
  for (const pid of pids) {
    const task = `/proc/${pid}/task/${pid}`;
    const stat = read(`${task}/stat`);
    if (!stat) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = fields[0] ?? '?';
    const cpuTicks = Number(fields[11]) + Number(fields[12]);
    const runQueueMs = Number(read(`${task}/schedstat`).split(' ')[1] ?? 0) / 1e6;
    const wchan = read(`${task}/wchan`);
    const idle = state === 'S' && /ep_poll|epoll/.test(wchan);
    const stretch = open.get(pid);
    if (!idle) {
      const s = stretch ?? {
        start: now,
        cpuTicks,
        runQueueMs,
        states: new Map(),
        wchans: new Map(),
        stacks: new Map(),
      };
      open.set(pid, s);
      count(s.states, state);
      if (state !== 'R') count(s.wchans, wchan);
      if (state === 'D') {
        const frames = read(`${task}/stack`)
          .split('\n')
          .map((line) => line.replace(/^\[<[0-9a-f]+>\] /, '').replace(/\+0x.*/, ''))
          .filter(Boolean);
        count(s.stacks, frames.slice(0, 12).join(' < '));
      }
    } else if (stretch) {
      open.delete(pid);
      const ms = now - stretch.start;
      if (ms < minMs) continue;
      const at = new Date().toISOString().slice(11, 23);
      console.log(
        `${at} pid ${pid}: ${ms.toFixed(0)} ms off epoll, CPU ${(cpuTicks - stretch.cpuTicks) * 10} ms, ` +
          `run queue ${(runQueueMs - stretch.runQueueMs).toFixed(1)} ms, states ${list(stretch.states)}, ` +
          `wait channels ${list(stretch.wchans)}`,
      );
      for (const [stack, n] of [...stretch.stacks].sort((a, b) => b[1] - a[1]).slice(0, 3)) {
        console.log(`    ${n}× ${stack}`);
      }
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 1));
}
