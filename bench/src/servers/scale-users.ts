/**
 * The bench-at-scale scenario's users (issue 21), made inside the regstack server child before it listens
 * (`BENCH_SCALE_SEED=n`): n users bulk-inserted exactly as scenario 5 seeds them (lib/seed-users.ts), but with one
 * password hash of a password the runner is told, so any of them can sign in. The runner gets two sets of
 * `connections` users spread evenly over the whole table (by sign-up time, so over the whole id and email range):
 * `me` users, signed in here through `auth.login` for their access tokens, and `login` users. All are active and
 * verified (indexes ≡ 0 and ≡ 2 mod 10 in the seeded population).
 */
import { randomBytes } from 'node:crypto';
import type { createRegstack, RegstackConfig } from '@regstack/server';
import { nameTerms, newId, parseDatabaseUrl } from '@regstack/server/internal';
import { argon2id, hash } from 'argon2';
import type { BenchCredential, ScaleSeed } from '../lib/protocol.ts';
import { SEED_NAMES, seedPostgres, seedSqlite } from '../lib/seed-users.ts';

type Caller = ReturnType<Awaited<ReturnType<typeof createRegstack>>['createCaller']>;

const emailOf = (i: number) => `${SEED_NAMES[i % SEED_NAMES.length]!}.${i}@seed.example.com`;

/** `connections` indexes spread over [0, count), each ≡ `residue` mod 10. */
function spreadIndexes(count: number, connections: number, residue: number): number[] {
  const stride = count / connections;
  return Array.from({ length: connections }, (_, k) => Math.floor((k * stride) / 10) * 10 + residue);
}

export async function seedScaleUsers(
  config: RegstackConfig,
  count: number,
  connections: number,
  caller: Caller,
): Promise<ScaleSeed> {
  if (count < connections * 10) throw new Error(`BENCH_SCALE_SEED: at least ${connections * 10} users are needed`);
  const started = performance.now();
  const password = `${randomBytes(18).toString('base64url')}-Scale`;
  const passwordHash = await hash(password, {
    type: argon2id,
    memoryCost: config.argon2MemoryKib,
    timeCost: config.argon2Iterations,
    parallelism: config.argon2Parallelism,
  });
  const plan = { count, passwordHash, newestMs: Date.now() - 7 * 86_400_000 };
  const target = parseDatabaseUrl(config.databaseUrl);
  if (target.kind === 'sqlite') seedSqlite(target.path, plan, newId, nameTerms);
  else if (target.kind === 'postgresql') await seedPostgres(target.clientUrl, plan);
  else throw new Error(`BENCH_SCALE_SEED: cannot seed a ${target.kind} database`);
  const seedSeconds = (performance.now() - started) / 1000;

  const meUsers: BenchCredential[] = [];
  for (const i of spreadIndexes(count, connections, 0)) {
    const email = emailOf(i);
    const login = await caller.login({ email, password });
    if (login.status !== 'authenticated') throw new Error(`seeded user ${i} did not authenticate`);
    meUsers.push({ email, password, token: login.accessToken });
  }
  const loginUsers = spreadIndexes(count, connections, 2).map((i) => ({ email: emailOf(i), password, token: '' }));
  return { users: count, seedSeconds, meUsers, loginUsers };
}
