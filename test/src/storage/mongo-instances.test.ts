/**
 * Issue 21, first bullet, on MongoDB-wire: the two-instance checks of pgbouncer.test.ts and failover.test.ts, with
 * three (then two) regstack instances in processes of their own (harness/instance-process.ts) over one FerretDB
 * database, reached over real HTTP — no in-process state can make them agree. FerretDB 1.x does not apply concurrent
 * updates of one document atomically, so every "only one may win" here rests on the server's unique-insert claims.
 * - Concurrent wrong logins from every instance: exactly the threshold of password checks, the rest refused, the
 *   account then locked on every instance; nothing answers 500.
 * - A token minted on one instance works on the others; a logout, a logout-all and a password change made on one are
 *   seen on the others at once.
 * - A reset link, a verification link and an email-change link each work once across the instances, under 24
 *   concurrent attempts split across them, and the winner's change is the one that stays (before the fix, FerretDB
 *   wrote back each loser's stale copy of the user: the old password, the old address); a TOTP code and a recovery
 *   code each open one session, whatever races.
 * - A reset on one instance while two others keep signing in with the old password: the reset's password stays and
 *   every session the old one opened is dead (before the fix a login's `last_login_at` stamp could put the old hash
 *   back). A user's write lease left by a dead holder runs out; one held past the wait answers 503, never 500.
 * - Outage: a FerretDB of this file's own is `kill -9`ed while both instances write; calls answer 503 with
 *   `Retry-After` (never 500) while it is down; it is started again over the same files and both instances answer
 *   again without a restart; every acknowledged write (sessions, revocations, lockout failures, used links) is there.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { RegstackConfigInput } from '@regstack/server';
import {
  AuditEventSchema,
  createRepositories,
  openStorage,
  SessionSchema,
  type Storage,
  UserSchema,
} from '@regstack/server/internal';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, selectedBackends, type TestDatabase } from '../harness/backends.ts';
import { ferretDbBinary, type PrivateFerretDb, startPrivateFerretDb } from '../harness/ferretdb.ts';
import { type Cluster, type InstanceProcess, startCluster } from '../harness/instance-process.ts';
import { data, error, type RawResponse } from '../http/http-client.ts';

const PASSWORD = 'correct horse battery staple';
const info = inject('backends');

/** Every instance's configuration: one signing secret; no per-client limits (all requests come from loopback). */
function instanceConfig(extra: RegstackConfigInput = {}): RegstackConfigInput {
  const none = 'none';
  return {
    jwtSecret: randomBytes(32).toString('base64url'),
    loginRateLimit: none,
    registerRateLimit: none,
    forgotPasswordRateLimit: none,
    resetPasswordRateLimit: none,
    verifyRateLimit: none,
    resendVerificationRateLimit: none,
    changePasswordRateLimit: none,
    changeEmailRateLimit: none,
    confirmEmailChangeRateLimit: none,
    loginMfaConfirmRateLimit: none,
    mfaManageRateLimit: none,
    email: { recipientRateLimit: none },
    ...extra,
  };
}

const QUERIES = new Set(['auth.account.me', 'auth.mfa.status', 'auth.account.sessions']);

/** One call over HTTP, as a client makes it. */
function send(i: InstanceProcess, path: string, input?: unknown, accessToken?: string): Promise<RawResponse> {
  const headers: Record<string, string> = accessToken ? { authorization: `Bearer ${accessToken}` } : {};
  return QUERIES.has(path) ? i.api.query(path, input, headers) : i.api.mutation(path, input, headers);
}

/** `ok`, the error's stable code, or the bare HTTP status when there is none (a 500 shows as `HTTP 500`). */
function outcomeOf(r: RawResponse): string {
  if (r.status === 200) return 'ok';
  const code = error(r)?.data?.regstackCode as string | undefined;
  return r.status === 500 || !code ? `HTTP ${r.status} ${code ?? ''}`.trim() : code;
}

const outcome = async (i: InstanceProcess, path: string, input?: unknown, accessToken?: string) =>
  outcomeOf(await send(i, path, input, accessToken));

async function ok(i: InstanceProcess, path: string, input?: unknown, accessToken?: string) {
  const r = await send(i, path, input, accessToken);
  if (r.status !== 200) throw new Error(`${path} answered ${r.status}: ${JSON.stringify(r.body)}`);
  return data(r);
}

const tally = (outcomes: string[]) =>
  outcomes.reduce<Record<string, number>>((acc, o) => {
    acc[o] = (acc[o] ?? 0) + 1;
    return acc;
  }, {});

/** `count` calls, the n-th on instance n mod the instance count, all at once. */
function acrossInstances<T>(
  instances: InstanceProcess[],
  count: number,
  call: (i: InstanceProcess, n: number) => Promise<T>,
) {
  return Promise.all(Array.from({ length: count }, (_, n) => call(instances[n % instances.length]!, n)));
}

/** Registers on one instance and verifies on another, through the mailed link. */
async function verifiedUser(cluster: Cluster, email: string, password = PASSWORD) {
  const [a, b] = cluster.instances as [InstanceProcess, InstanceProcess];
  await ok(a, 'auth.register', { email, password });
  await ok(b, 'auth.verifyEmail', { token: await cluster.tokenFor(email, 'verify') });
  return { email, password };
}

async function login(i: InstanceProcess, email: string, password = PASSWORD): Promise<string> {
  const result = await ok(i, 'auth.login', { email, password });
  if (result.status !== 'authenticated') throw new Error(`expected a session, got ${result.status}`);
  return result.accessToken;
}

const STEP_MS = 30_000;
const totpCode = (secret: string, at = Date.now()) =>
  TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: at });

for (const backend of ['mongodb', 'mongodb-real'] as const) {
  const available = info.available.includes(backend);
  if (!available && !info.skipped.some((s) => s.backend === backend)) continue;
  describe.skipIf(!available)(
    `three instances in their own processes over one database [${backend}] (issue 21)`,
    () => {
      let db: TestDatabase;
      let cluster: Cluster;
      let instances: InstanceProcess[];
      let a: InstanceProcess;
      let b: InstanceProcess;
      let c: InstanceProcess;
      let storage: Storage;

      beforeAll(async () => {
        db = await createTestDatabase(backend, info.mongoUrls);
        cluster = await startCluster(db.url, instanceConfig(), 3);
        instances = cluster.instances;
        [a, b, c] = instances as [InstanceProcess, InstanceProcess, InstanceProcess];
        storage = await openStorage(db.url);
      }, 90_000);
      afterAll(async () => {
        await cluster?.close();
        await storage?.close();
        await db?.drop();
      });

      const userId = async (email: string) => {
        const user = await storage.fork().findOne(UserSchema, { email }, { disableIdentityMap: true });
        if (!user) throw new Error(`no user ${email}`);
        return user.id;
      };
      const sessionsOf = async (email: string) => storage.fork().count(SessionSchema, { userId: await userId(email) });

      it('24 concurrent wrong logins from three instances: exactly the threshold checked, then locked everywhere', async () => {
        const { email } = await verifiedUser(cluster, 'locked@example.com');
        const id = await userId(email);
        const outcomes = await acrossInstances(instances, 24, (i) =>
          outcome(i, 'auth.login', { email, password: 'wrong guess wrong' }),
        );
        // R17 across processes: five password checks in all, the other 19 refused; no 500, nothing else.
        expect(tally(outcomes)).toEqual({ INVALID_CREDENTIALS: 5, TOO_MANY_ATTEMPTS: 19 });
        const failed = await storage.fork().count(AuditEventSchema, { subjectId: id, event: 'login_failed' });
        expect(failed).toBe(5);
        // Locked for real on every instance: the right password, even all at once, opens nothing.
        const after = await Promise.all(
          instances.flatMap((i) => [i, i].map((j) => send(j, 'auth.login', { email, password: PASSWORD }))),
        );
        for (const r of after) {
          expect(outcomeOf(r)).toBe('TOO_MANY_ATTEMPTS');
          expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(800);
        }
      }, 40_000);

      it('a token from one instance works on the others; logout, logout-all and a password change are seen at once', async () => {
        const { email } = await verifiedUser(cluster, 'roaming@example.com');
        const tokens = await Promise.all([a, b, c, a, b, c].map((i) => login(i, email)));
        // Under load, each token on every instance.
        const mes = await acrossInstances(instances, 60, (i, n) =>
          outcome(i, 'auth.account.me', undefined, tokens[n % 6]),
        );
        expect(tally(mes)).toEqual({ ok: 60 });

        await ok(b, 'auth.logout', undefined, tokens[0]);
        for (const i of instances) {
          expect(await outcome(i, 'auth.account.me', undefined, tokens[0])).toBe('UNAUTHENTICATED');
          expect(await outcome(i, 'auth.account.me', undefined, tokens[1])).toBe('ok');
        }

        await ok(c, 'auth.logoutAll', undefined, tokens[1]);
        for (const i of instances) {
          for (const token of tokens)
            expect(await outcome(i, 'auth.account.me', undefined, token)).toBe('UNAUTHENTICATED');
        }

        const [before, other] = [await login(b, email), await login(c, email)];
        const newPassword = 'a wholly different passphrase';
        const changed = await ok(a, 'auth.account.changePassword', { currentPassword: PASSWORD, newPassword }, before);
        for (const i of instances) {
          for (const token of [before, other]) {
            expect(await outcome(i, 'auth.account.me', undefined, token)).toBe('UNAUTHENTICATED');
          }
          expect(await outcome(i, 'auth.account.me', undefined, changed.accessToken)).toBe('ok');
          expect(await outcome(i, 'auth.login', { email, password: PASSWORD })).toBe('INVALID_CREDENTIALS');
        }
        expect(await outcome(b, 'auth.login', { email, password: newPassword })).toBe('ok');
      }, 40_000);

      it('a reset link, a verification link and an email-change link each work once under 24 concurrent uses', async () => {
        // Reset.
        const { email } = await verifiedUser(cluster, 'reset@example.com');
        await ok(c, 'auth.forgotPassword', { email });
        const reset = await cluster.tokenFor(email, 'reset');
        const resets = await acrossInstances(instances, 24, (i, n) =>
          outcome(i, 'auth.resetPassword', { token: reset, newPassword: `fresh passphrase number ${n}` }),
        );
        expect(tally(resets)).toEqual({ ok: 1, INVALID_OR_EXPIRED_TOKEN: 23 });
        // The winner's password is the one in force, on every instance; the old one is dead (R26, R68).
        const winner = resets.indexOf('ok');
        for (const i of instances) {
          expect(await outcome(i, 'auth.login', { email, password: PASSWORD })).toBe('INVALID_CREDENTIALS');
          expect(await outcome(i, 'auth.login', { email, password: `fresh passphrase number ${winner}` })).toBe('ok');
        }

        // Verification: one account.
        await ok(b, 'auth.register', { email: 'verify@example.com', password: PASSWORD });
        const verify = await cluster.tokenFor('verify@example.com', 'verify');
        const verifies = await acrossInstances(instances, 24, (i) => outcome(i, 'auth.verifyEmail', { token: verify }));
        expect(tally(verifies)).toEqual({ ok: 1, INVALID_OR_EXPIRED_TOKEN: 23 });
        expect(await outcome(c, 'auth.login', { email: 'verify@example.com', password: PASSWORD })).toBe('ok');

        // Email change: the account moves once; the sessions it ended stay ended.
        const { email: old } = await verifiedUser(cluster, 'moving@example.com');
        const session = await login(a, old);
        await ok(b, 'auth.account.changeEmail', { newEmail: 'moved@example.com', currentPassword: PASSWORD }, session);
        const move = await cluster.tokenFor('moved@example.com', 'confirm-email-change');
        const moves = await acrossInstances(instances, 24, (i) =>
          outcome(i, 'auth.account.confirmEmailChange', { token: move }),
        );
        expect(tally(moves)).toEqual({ ok: 1, INVALID_OR_EXPIRED_TOKEN: 23 });
        for (const i of instances)
          expect(await outcome(i, 'auth.account.me', undefined, session)).toBe('UNAUTHENTICATED');
        expect(await outcome(a, 'auth.login', { email: 'moved@example.com', password: PASSWORD })).toBe('ok');
        expect(await outcome(b, 'auth.login', { email: old, password: PASSWORD })).toBe('INVALID_CREDENTIALS');
      }, 50_000);

      it('a reset on one instance while the others sign in with the old password: the old password and its sessions die', async () => {
        const argon2 = await import('argon2');
        const stolen: string[] = [];
        for (const round of [1, 2, 3]) {
          const email = `thief-${round}@example.com`;
          await verifiedUser(cluster, email);
          await ok(a, 'auth.forgotPassword', { email });
          const token = await cluster.tokenFor(email, 'reset');
          // A thief holding the old password signs in over and over on b and c while the owner resets on a.
          let signingIn = true;
          const thieves = [b, c, b, c].map(async (i) => {
            while (signingIn) {
              const r = await send(i, 'auth.login', { email, password: PASSWORD });
              if (r.status === 200) stolen.push(data(r).accessToken);
              else if (outcomeOf(r) !== 'INVALID_CREDENTIALS' && outcomeOf(r) !== 'TOO_MANY_ATTEMPTS') {
                throw new Error(`login answered ${r.status}`);
              }
            }
          });
          await new Promise((r) => setTimeout(r, 300));
          const newPassword = 'the owner took it back';
          await ok(a, 'auth.resetPassword', { token, newPassword });
          signingIn = false;
          await Promise.all(thieves);
          // The reset's password is the one stored (the thieves' failures lock the account, so it is read directly).
          const user = await storage
            .fork()
            .findOne(UserSchema, { email }, { disableIdentityMap: true, populate: ['hashedPassword'] });
          const stored = (user as unknown as { hashedPassword: string }).hashedPassword;
          expect({
            round,
            new: await argon2.verify(stored, newPassword),
            old: await argon2.verify(stored, PASSWORD),
          }).toEqual({ round, new: true, old: false });
        }
        expect(stolen.length).toBeGreaterThan(0);
        const alive = await Promise.all(
          stolen.map((t, n) => outcome(instances[n % 3]!, 'auth.account.me', undefined, t)),
        );
        expect(alive.filter((o) => o !== 'UNAUTHENTICATED')).toEqual([]);
      }, 40_000);

      it("a user's write lease left by a dead holder runs out; one held past the wait answers 503 + Retry-After", async () => {
        const [stale, stuck] = [
          await verifiedUser(cluster, 'lease-stale@example.com'),
          await verifiedUser(cluster, 'lease-stuck@example.com'),
        ];
        const claims = createRepositories(storage.fork(), storage.dialect).claims;
        const now = new Date();
        // As an instance that died mid-write leaves it: runs out in 2 s. And one that outlasts the 5 s wait.
        const leases: [string, number][] = [
          [await userId(stale.email), 2_000],
          [await userId(stuck.email), 60_000],
        ];
        for (const [id, ms] of leases) {
          await claims.claimOnce(`user-write:${id}`, `user-write:${id}`, now, new Date(now.getTime() + ms));
        }
        // A login writes its stamp on the user: it waits for the lease.
        const [late, refused] = await Promise.all([
          send(b, 'auth.login', { email: stale.email, password: PASSWORD }),
          send(c, 'auth.login', { email: stuck.email, password: PASSWORD }),
        ]);
        expect(outcomeOf(late)).toBe('ok');
        expect(`${refused.status} ${outcomeOf(refused)}`).toBe('503 SERVICE_UNAVAILABLE');
        expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
        // Refused without deciding anything: no session was opened, and the account is not locked either.
        expect(await sessionsOf(stuck.email)).toBe(0);
        await claims.release(`user-write:${leases[1]![0]}`);
        expect(await outcome(a, 'auth.login', { email: stuck.email, password: PASSWORD })).toBe('ok');
      }, 30_000);

      /** A verified user with an authenticator enrolled across the instances; its secret and recovery codes. */
      async function totpUser(email: string) {
        await verifiedUser(cluster, email);
        const token = await login(a, email);
        const { secret } = await ok(b, 'auth.mfa.totp.start', { currentPassword: PASSWORD }, token);
        const enabled = await ok(c, 'auth.mfa.totp.confirm', { code: totpCode(secret) }, token);
        return { secret: secret as string, recoveryCodes: enabled.recoveryCodes as string[], token };
      }

      /** One sign-in per instance, each stopped at the second step. */
      async function pendingSignIns(email: string): Promise<string[]> {
        return Promise.all(
          instances.map(async (i) => {
            const result = await ok(i, 'auth.login', { email, password: PASSWORD });
            if (result.status !== 'mfa_required') throw new Error(`expected mfa_required, got ${result.status}`);
            return result.mfaPendingToken as string;
          }),
        );
      }

      it('one TOTP code confirmed on three pending sign-ins across three instances opens one session (step used once)', async () => {
        const { secret } = await totpUser('totp@example.com');
        const pending = await pendingSignIns('totp@example.com');
        // The next step's code: within the accepted window, after the step the enrolment used.
        const code = totpCode(secret, Date.now() + STEP_MS);
        const outcomes = await acrossInstances(instances, 12, (i, n) =>
          outcome(i, 'auth.mfa.confirmLogin', { mfaPendingToken: pending[n % 3], method: 'totp', code }),
        );
        expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
        // The others lost on the step or the challenge, or met the lock their wrong codes built (R19): nothing else.
        expect(
          outcomes.filter((o) => !['ok', 'MFA_CODE_INVALID', 'MFA_CHALLENGE_INVALID', 'TOO_MANY_ATTEMPTS'].includes(o)),
        ).toEqual([]);
        // The enrolment's session and this one.
        expect(await sessionsOf('totp@example.com')).toBe(2);
      }, 40_000);

      it('one recovery code used at once on three pending sign-ins across three instances works once', async () => {
        const { recoveryCodes, token } = await totpUser('recovery@example.com');
        const pending = await pendingSignIns('recovery@example.com');
        const code = recoveryCodes[0];
        const outcomes = await acrossInstances(instances, 12, (i, n) =>
          outcome(i, 'auth.mfa.confirmLogin', { mfaPendingToken: pending[n % 3], method: 'recovery', code }),
        );
        expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
        expect(
          outcomes.filter((o) => !['ok', 'MFA_CODE_INVALID', 'MFA_CHALLENGE_INVALID', 'TOO_MANY_ATTEMPTS'].includes(o)),
        ).toEqual([]);
        for (const i of instances) {
          expect((await ok(i, 'auth.mfa.status', undefined, token)).recoveryCodesRemaining).toBe(9);
        }
        expect(await sessionsOf('recovery@example.com')).toBe(2);
      }, 40_000);
    },
  );
}

/** The outage needs a FerretDB of its own to kill: the binary the global setup would start. */
const crashable = selectedBackends().includes('mongodb') && existsSync(ferretDbBinary());
if (selectedBackends().includes('mongodb') && !crashable) {
  console.warn(`mongo-instances.test.ts: the outage test is skipped — no FerretDB binary at ${ferretDbBinary()}`);
}

describe.skipIf(!crashable)('FerretDB killed with kill -9 under two instances, then started again (issue 21)', () => {
  let ferret: PrivateFerretDb;
  let cluster: Cluster;
  let a: InstanceProcess;
  let b: InstanceProcess;

  beforeAll(async () => {
    const started = await startPrivateFerretDb();
    if ('error' in started) throw new Error(started.error);
    ferret = started;
    // Short timeouts: a call during the outage answers 503 soon after the server is gone.
    const config = instanceConfig({ databaseConnectTimeoutMs: 1000, databaseQueryTimeoutMs: 2000 });
    cluster = await startCluster(`${ferret.url}/outage`, config, 2);
    [a, b] = cluster.instances as [InstanceProcess, InstanceProcess];
  }, 90_000);
  afterAll(async () => {
    await cluster?.close();
    await ferret?.stop();
  });

  it('answers 503 + Retry-After while it is down, recovers without a restart, keeps every acknowledged write', async () => {
    // ── Before: acknowledged writes of every kind, from both instances ──
    await verifiedUser(cluster, 'kept@example.com');
    await verifiedUser(cluster, 'locked@example.com');
    const { email: resetEmail } = await verifiedUser(cluster, 'reset@example.com');
    const [revoked, kept] = [await login(a, 'kept@example.com'), await login(b, 'kept@example.com')];
    await ok(b, 'auth.logout', undefined, revoked);
    // One failure short of the lock (threshold 5), each answered.
    for (let n = 0; n < 4; n++) {
      const i = n % 2 ? a : b;
      expect(await outcome(i, 'auth.login', { email: 'locked@example.com', password: 'wrong guess' })).toBe(
        'INVALID_CREDENTIALS',
      );
    }
    // A reset link minted through a, used once on b.
    await ok(a, 'auth.forgotPassword', { email: resetEmail });
    const resetToken = await cluster.tokenFor(resetEmail, 'reset');
    const newPassword = 'a brand new passphrase here';
    expect(await outcome(b, 'auth.resetPassword', { token: resetToken, newPassword })).toBe('ok');

    // ── Writes on both instances while the server is killed: logins, and a logout of every other one ──
    const live: string[] = [];
    const loggedOut: string[] = [];
    const answers = new Set<string>();
    let writing = true;
    const writers = [a, b].map(async (i) => {
      for (let n = 0; writing; n++) {
        const r = await send(i, 'auth.login', { email: 'kept@example.com', password: PASSWORD });
        answers.add(`${r.status} ${outcomeOf(r)}`);
        if (r.status !== 200) {
          await new Promise((done) => setTimeout(done, 100));
          continue;
        }
        const token = data(r).accessToken as string;
        if (n % 2) {
          live.push(token);
          continue;
        }
        const out = await send(i, 'auth.logout', undefined, token);
        answers.add(`${out.status} ${outcomeOf(out)}`);
        // A logout that failed decided nothing the test relies on: the token is neither kept nor revoked for sure.
        if (out.status === 200) loggedOut.push(token);
      }
    });
    const ready = Date.now() + 30_000;
    while ((live.length < 2 || loggedOut.length < 2) && Date.now() < ready) {
      await new Promise((done) => setTimeout(done, 50));
    }
    const beforeKill = { live: live.length, loggedOut: loggedOut.length };
    await ferret.crash();
    // Down: every call that needs the database answers 503 with Retry-After, on both instances, public or not.
    for (const i of [a, b]) {
      for (const r of [
        await send(i, 'auth.account.me', undefined, kept),
        await send(i, 'auth.login', { email: 'kept@example.com', password: PASSWORD }),
        await send(i, 'auth.forgotPassword', { email: resetEmail }),
      ]) {
        expect(`${r.status} ${outcomeOf(r)}`).toBe('503 SERVICE_UNAVAILABLE');
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      }
    }
    await ferret.restart();
    // ── Up again: no instance restart; both find the server by themselves ──
    const deadline = Date.now() + 30_000;
    for (const i of [a, b]) {
      while ((await outcome(i, 'auth.account.me', undefined, kept)) !== 'ok') {
        expect(Date.now()).toBeLessThan(deadline);
        await new Promise((done) => setTimeout(done, 200));
      }
    }
    writing = false;
    await Promise.all(writers);
    expect(beforeKill.live).toBeGreaterThanOrEqual(2);
    expect(beforeKill.loggedOut).toBeGreaterThanOrEqual(2);
    // Calls caught by the outage answered 503; nothing answered 500 or anything else.
    expect([...answers].filter((x) => x !== '200 ok' && x !== '503 SERVICE_UNAVAILABLE')).toEqual([]);

    // Every acknowledged session and every acknowledged logout is there, seen alike by both instances.
    for (const [n, token] of live.entries()) {
      expect(await outcome(n % 2 ? a : b, 'auth.account.me', undefined, token)).toBe('ok');
    }
    for (const [n, token] of [revoked, ...loggedOut].entries()) {
      expect(await outcome(n % 2 ? a : b, 'auth.account.me', undefined, token)).toBe('UNAUTHENTICATED');
    }
    await ok(a, 'auth.logout', undefined, kept);
    expect(await outcome(b, 'auth.account.me', undefined, kept)).toBe('UNAUTHENTICATED');
    // The four failures survived: the fifth locks the account on both, even for the right password.
    expect(await outcome(a, 'auth.login', { email: 'locked@example.com', password: 'wrong guess' })).toBe(
      'INVALID_CREDENTIALS',
    );
    for (const i of [a, b]) {
      expect(await outcome(i, 'auth.login', { email: 'locked@example.com', password: PASSWORD })).toBe(
        'TOO_MANY_ATTEMPTS',
      );
    }
    // The reset link used before the crash stays used; the new password is the one in force.
    for (const i of [a, b]) {
      expect(await outcome(i, 'auth.resetPassword', { token: resetToken, newPassword: 'yet another passphrase' })).toBe(
        'INVALID_OR_EXPIRED_TOKEN',
      );
    }
    expect(await outcome(b, 'auth.login', { email: resetEmail, password: newPassword })).toBe('ok');
    // A link minted after the restart is used once across both.
    await ok(b, 'auth.forgotPassword', { email: resetEmail });
    const second = await cluster.tokenFor(resetEmail, 'reset');
    const uses = await Promise.all(
      [a, b, a, b].map((i, n) =>
        outcome(i, 'auth.resetPassword', { token: second, newPassword: `final passphrase ${n} ok` }),
      ),
    );
    expect(tally(uses)).toEqual({ ok: 1, INVALID_OR_EXPIRED_TOKEN: 3 });
  }, 60_000);
});
