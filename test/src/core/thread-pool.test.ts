/**
 * Hashing yields the CPU to the event loop (server/src/thread-pool.ts): createRegstack gives libuv's pool
 * threads, where argon2 runs, the configured `nice` — and leaves the event loop's own thread and, with
 * `hash_thread_priority = 0`, the pool alone. Linux only, like the feature; each case in a fresh process.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runNodeChild } from '../harness/node-child.ts';

const CHILD = fileURLToPath(new URL('./thread-pool-child.ts', import.meta.url));

const run = (options: Record<string, unknown>) =>
  runNodeChild<{ before: number[]; after: number[]; mainNice: number }>(
    CHILD,
    [JSON.stringify(options)],
    'thread-pool',
  );

describe.skipIf(process.platform !== 'linux')('thread-pool priority', () => {
  it('lowers every pool thread to nice 10 by default, and not the event loop', async () => {
    const { before, after, mainNice } = await run({});
    expect(before.length).toBeGreaterThan(0);
    expect(before.every((n) => n < 10)).toBe(true);
    expect(after).toHaveLength(before.length);
    expect(after.every((n) => n === 10)).toBe(true);
    expect(mainNice).toBe(before[0]);
  });

  it('uses the configured value, and changes nothing at 0', async () => {
    expect((await run({ hashThreadPriority: 15 })).after.every((n) => n === 15)).toBe(true);
    const off = await run({ hashThreadPriority: 0 });
    expect(off.after).toEqual(off.before);
  });
});
