/**
 * Helpers for the 50-way races: callers are spread over several independent connections (pools) to the
 * same database, each with its own unit of work, and released together so their statements interleave.
 */
import { createRepositories, type Repositories, type Storage } from '@regstack/server/internal';
import type { BackendContext } from '../harness/each-backend.ts';

export const RACERS = 50;

export async function connections(ctx: BackendContext, n = 4): Promise<Storage[]> {
  const extra = await Promise.all(Array.from({ length: n - 1 }, () => ctx.openAnother()));
  return [ctx.storage, ...extra];
}

/** Runs `fn` RACERS times concurrently, caller i on connection i % n with fresh repositories. */
export async function race<T>(storages: Storage[], fn: (repos: Repositories, i: number) => Promise<T>): Promise<T[]> {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const runs = Array.from({ length: RACERS }, async (_, i) => {
    const s = storages[i % storages.length]!;
    const repos = createRepositories(s.fork(), s.dialect);
    await gate;
    return fn(repos, i);
  });
  release();
  return Promise.all(runs);
}

export function repos(storage: Storage): Repositories {
  return createRepositories(storage.fork(), storage.dialect);
}
