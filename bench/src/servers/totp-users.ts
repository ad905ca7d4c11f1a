/**
 * The login-with-TOTP scenario's users, made inside the regstack server child before it listens
 * (`BENCH_TOTP_USERS=n`): n users bulk-inserted with a confirmed authenticator app (lib/seed-totp.ts), their
 * secrets sealed with this instance's key, one password for all. One more user, not handed to the runner, proves
 * the seeded rows are what regstack expects: it signs in through `auth.login` (must answer `mfa_required` with the
 * `totp` method) and `auth.mfa.confirmLogin` with a code computed by `otpauth`, the library the server checks with.
 */
import { randomBytes } from 'node:crypto';
import type { createRegstack, RegstackConfig } from '@regstack/server';
import { createSealer, newId, parseDatabaseUrl } from '@regstack/server/internal';
import { argon2id, hash } from 'argon2';
import { Secret, TOTP } from 'otpauth';
import type { TotpSeed } from '../lib/protocol.ts';
import { seedTotpPostgres, seedTotpSqlite, type TotpSeedPlan } from '../lib/seed-totp.ts';

type Caller = ReturnType<Awaited<ReturnType<typeof createRegstack>>['createCaller']>;

/** The code an authenticator app shows for `secret` now (RFC 6238 defaults, as regstack enrols). */
export function totpCode(secret: string, timestamp = Date.now()): string {
  return TOTP.generate({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1', timestamp });
}

export async function seedTotpUsers(
  config: RegstackConfig,
  count: number,
  runId: string,
  caller: Caller,
): Promise<TotpSeed> {
  const started = performance.now();
  const password = `${randomBytes(18).toString('base64url')}-Totp`;
  const passwordHash = await hash(password, {
    type: argon2id,
    memoryCost: config.argon2MemoryKib,
    timeCost: config.argon2Iterations,
    parallelism: config.argon2Parallelism,
  });
  const sealer = createSealer(config.jwtSecret, config.jwtPreviousSecrets, 'totpSeal');
  const nowMs = Date.now();
  const users: TotpSeedPlan['users'] = [];
  for (let i = 0; i <= count; i++) {
    const secret = new Secret({ size: 20 }).base32;
    users.push({
      id: newId(nowMs),
      email: `totp-${i}-${runId}@bench.example.com`,
      secret,
      sealedSecret: sealer.seal(secret),
    });
  }
  const plan: TotpSeedPlan = { users, passwordHash, nowMs };
  const target = parseDatabaseUrl(config.databaseUrl);
  if (target.kind === 'sqlite') seedTotpSqlite(target.path, plan);
  else if (target.kind === 'postgresql') await seedTotpPostgres(target.clientUrl, plan);
  else throw new Error(`BENCH_TOTP_USERS: cannot seed a ${target.kind} database`);
  const seedSeconds = (performance.now() - started) / 1000;

  const probe = users.pop()!;
  const first = await caller.login({ email: probe.email, password });
  if (first.status !== 'mfa_required' || !first.methods.includes('totp')) {
    throw new Error(`a seeded TOTP user's login answered ${first.status}, expected mfa_required with totp`);
  }
  const second = await caller.mfa.confirmLogin({
    mfaPendingToken: first.mfaPendingToken,
    method: 'totp',
    code: totpCode(probe.secret),
  });
  if (second.status !== 'authenticated' || !second.accessToken) {
    throw new Error('a seeded TOTP user did not authenticate with its code');
  }
  return { password, users: users.map(({ email, secret }) => ({ email, secret })), seedSeconds };
}
