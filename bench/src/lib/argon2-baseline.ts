/**
 * Starts the raw argon2 baseline (servers/argon2-baseline.ts) at the parameters regstack hashes with, its libuv
 * pool sized to the cores — the same pool regstack's hashing process gets (`hashingPoolThreads`). libuv's default
 * of 4 threads would oversubscribe a machine with fewer cores, and more threads than cores verify fewer hashes per
 * second (docs/password-hashing.md): a baseline below the machine's real rate would flatter every ratio over it.
 */
import { availableParallelism } from 'node:os';
import { type BenchChild, startChild } from './ipc.ts';
import type { Argon2Ready } from './protocol.ts';

export function startArgon2Baseline(params: {
  memoryKib: number;
  iterations: number;
  parallelism: number;
}): Promise<BenchChild<Argon2Ready>> {
  return startChild<Argon2Ready>({
    script: 'servers/argon2-baseline.ts',
    env: {
      BENCH_ARGON2_M: String(params.memoryKib),
      BENCH_ARGON2_T: String(params.iterations),
      BENCH_ARGON2_P: String(params.parallelism),
      UV_THREADPOOL_SIZE: String(availableParallelism()),
    },
  });
}
