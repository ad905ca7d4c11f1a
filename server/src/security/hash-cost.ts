/**
 * What one password hash costs on this machine with the configured argon2id parameters (R6), for `regstack doctor`:
 * too cheap and an offline attacker gains, too dear and logins queue behind the hashing slots (R7). Measured with the
 * `argon2` package in this process (the hashing process adds only a hop), after one warm-up hash.
 */
import { argon2id, hash } from 'argon2';

export interface HashCostParameters {
  memoryKib: number;
  iterations: number;
  parallelism: number;
}

/** The median of `rounds` timed argon2id hashes, in milliseconds. */
export async function measureHashCostMs(parameters: HashCostParameters, rounds = 3): Promise<number> {
  const options = {
    type: argon2id,
    memoryCost: parameters.memoryKib,
    timeCost: parameters.iterations,
    parallelism: parameters.parallelism,
  } as const;
  await hash('regstack doctor warm-up', options);
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    await hash('regstack doctor measurement', options);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? 0;
}
