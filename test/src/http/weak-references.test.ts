/**
 * regstack's request path makes no `WeakRef` and no `FinalizationRegistry` entry — neither regstack's code nor
 * any dependency it calls per request (the ORM, the drivers, jose, superjson, tRPC's JavaScript), nor undici's
 * `Request` finalizer, which regstack's Node bridge avoids by building each `Request` without a signal (giving
 * it one, as tRPC's Node adapter does, makes this test count one of each per request). Node keeps such entries
 * until a mark-compact has found their targets dead and the registry's cleanup has run, so per-request ones
 * pile up in the old generation under steady load and lengthen every major GC pause (what Node's own
 * `AbortSignal.any` does under tRPC: docs/embedding.md, "Steady load on Node"). Counted in a process of its own, with the instruments
 * installed before anything is loaded, on every backend.
 */
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { runNodeChild } from '../harness/node-child.ts';

const CHILD = fileURLToPath(new URL('./weak-references-child.ts', import.meta.url));
type Counts = { weakRefs: number; registrations: number };
type Phases = Record<'meOverHttp' | 'loginOverHttp' | 'meByCaller' | 'control', Counts>;

describeEachBackend('per-request weak references', (ctx) => {
  it('none while serving me and login over HTTP and me by caller', async () => {
    const phases = await runNodeChild<Phases>(CHILD, [ctx.url], 'weak references');
    expect(phases.control).toEqual({ weakRefs: 1, registrations: 1 });
    expect(phases.meOverHttp).toEqual({ weakRefs: 0, registrations: 0 });
    expect(phases.loginOverHttp).toEqual({ weakRefs: 0, registrations: 0 });
    expect(phases.meByCaller).toEqual({ weakRefs: 0, registrations: 0 });
  });
});
