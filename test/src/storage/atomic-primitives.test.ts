/**
 * Every atomic repository primitive, raced by 50 concurrent callers over several connections on every
 * backend. Each assertion is one a read-then-write implementation would fail: two winners, a lost count,
 * a token redeemed twice (R17, R26, R49, R65, R66).
 */
import { createHash, randomBytes } from 'node:crypto';
import { type Storage, UserSchema, withLease } from '@regstack/server/internal';
import { beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { connections, RACERS, race, repos } from './concurrency.ts';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const minutes = (n: number) => n * 60_000;

describeEachBackend('atomic primitives under 50 concurrent callers', (ctx) => {
  let pool: Storage[];
  beforeAll(async () => {
    pool = await connections(ctx);
  });

  it('insertIfEmailFree: 50 sign-ups of one canonical email create exactly one user (R66)', async () => {
    const now = new Date();
    const results = await race(pool, (r, i) =>
      r.users.insertIfEmailFree({ email: 'race@example.com', hashedPassword: `h${i}` }, now),
    );
    const winners = results.filter((u) => u !== null);
    expect(winners).toHaveLength(1);
    expect(await repos(ctx.storage).users.findByEmail('race@example.com')).not.toBeNull();
    expect(await ctx.storage.fork().count(UserSchema, { email: 'race@example.com' })).toBe(1);
  });

  it('the compare-and-set on "no password" (R68): holds while the account has none, never after one is set or the account is gone', async () => {
    const users = repos(ctx.storage).users;
    const now = new Date();
    const kept = await users.insertIfEmailFree({ email: 'no-password@example.com', hashedPassword: null }, now);
    const gone = await users.insertIfEmailFree({ email: 'no-password-gone@example.com', hashedPassword: null }, now);
    if (!kept || !gone) throw new Error('expected two new users');
    expect(await users.holdIfPasswordHash(kept.id, null, now)).toBe(true);
    expect(await users.stampLoginIf(kept.id, null, null, now)).toBe(true);
    // A first password, set only while there is none.
    expect(await users.replacePasswordHashIf(kept.id, null, 'first-hash', now)).toBe(true);
    expect(await users.replacePasswordHashIf(kept.id, null, 'second-hash', now)).toBe(false);
    expect(await users.holdIfPasswordHash(kept.id, null, now)).toBe(false);
    expect(await users.currentPasswordHash(kept.id)).toBe('first-hash');
    // A deleted account has no password either, but nothing may hold or stamp it.
    expect(await users.deleteById(gone.id)).toBe(true);
    expect(await users.holdIfPasswordHash(gone.id, null, now)).toBe(false);
    expect(await users.stampLoginIf(gone.id, null, null, now)).toBe(false);
    expect(await users.deleteByIdIfPasswordHash(gone.id, null)).toBe(false);
  });

  it('pending attempts (R67): 50 concurrent sign-ups of one address each keep their own whole row', async () => {
    const now = new Date();
    const keep = 5;
    const rows = await race(pool, (r, i) =>
      r.pendingRegistrations.insertAttempt(
        {
          email: 'pending-race@example.com',
          hashedPassword: `h${i}`,
          fullName: `n${i}`,
          expiresAt: new Date(now.getTime() + minutes(60) + i),
        },
        now,
        keep,
      ),
    );
    // No attempt took over another's row: 50 distinct ids, and every row still stored holds its own writer's
    // password, name and expiry — a later sign-up never overwrites an earlier one's password.
    expect(new Set(rows.map((r) => r.id)).size).toBe(RACERS);
    let stored = 0;
    for (const row of rows) {
      const found = await repos(ctx.storage).pendingRegistrations.findById(row.id);
      if (!found) continue;
      stored += 1;
      const writer = Number(found.fullName!.slice(1));
      expect(found.hashedPassword).toBe(`h${writer}`);
      expect(found.expiresAt.getTime()).toBe(now.getTime() + minutes(60) + writer);
    }
    expect(stored).toBeGreaterThanOrEqual(keep);
    // The next sign-up trims the address to its newest `keep` attempts, itself included.
    const last = await repos(ctx.storage).pendingRegistrations.insertAttempt(
      { email: 'pending-race@example.com', hashedPassword: 'h-last', expiresAt: new Date(now.getTime() + minutes(60)) },
      new Date(now.getTime() + 1),
      keep,
    );
    expect(await repos(ctx.storage).pendingRegistrations.countLive('pending-race@example.com', now)).toBe(keep);
    expect((await repos(ctx.storage).pendingRegistrations.findNewestLive('pending-race@example.com', now))?.id).toBe(
      last.id,
    );
  });

  it('pending attempt claimOnce: 50 concurrent verifiers, exactly one gets the attempt', async () => {
    const now = new Date();
    const row = await repos(ctx.storage).pendingRegistrations.insertAttempt(
      { email: 'take-once@example.com', hashedPassword: 'h', expiresAt: new Date(now.getTime() + minutes(60)) },
      now,
      5,
    );
    const results = await race(pool, (r) => r.pendingRegistrations.claimOnce(row.id, new Date()));
    expect(results.filter((x) => x !== null)).toHaveLength(1);
    expect(results.find((x) => x !== null)?.hashedPassword).toBe('h');
  });

  it('consumeOnce: 50 concurrent redemptions of one token give exactly one success (R26)', async () => {
    const now = new Date();
    const raw = randomBytes(32).toString('base64url');
    await repos(ctx.storage).oneTimeTokens.issue(
      {
        tokenHash: sha256(raw),
        purpose: 'password_reset',
        subjectId: 'user-1',
        expiresAt: new Date(now.getTime() + minutes(30)),
      },
      now,
    );
    const results = await race(pool, (r) => r.oneTimeTokens.consumeOnce(sha256(raw), 'password_reset', new Date()));
    const winners = results.filter((t) => t !== null);
    expect(winners).toHaveLength(1);
    expect(winners[0]!.subjectId).toBe('user-1');
    expect(winners[0]!.usedAt).toBeInstanceOf(Date);
  });

  it('recordAndCount: 50 concurrent failures are all counted and at most `threshold` see a count within it (R17)', async () => {
    const now = Date.now();
    const windowStart = new Date(now - minutes(15));
    const results = await race(pool, (r, i) =>
      r.loginAttempts.recordAndCount('victim@example.com', new Date(now + i), windowStart),
    );
    // No lost count: every attempt is stored.
    expect(await repos(ctx.storage).loginAttempts.countSince('victim@example.com', windowStart)).toBe(RACERS);
    // Insert-then-count: the k-th smallest count is at least k. A count-then-insert implementation lets
    // many callers see the same small number; this is what caps password checks under a burst.
    const sorted = results.map((r) => r.count).sort((a, b) => a - b);
    for (const [k, c] of sorted.entries()) expect(c).toBeGreaterThanOrEqual(k + 1);
    const threshold = 5;
    expect(sorted.filter((c) => c <= threshold).length).toBeLessThanOrEqual(threshold);
    expect(Math.max(...sorted)).toBe(RACERS);
  });

  it('takeAttempt: 50 concurrent guesses on one MFA code get exactly `cap` slots, none lost (R49)', async () => {
    const now = new Date();
    const code = await repos(ctx.storage).mfaCodes.issue(
      {
        userId: 'user-mfa',
        purpose: 'login',
        challengeId: randomBytes(16).toString('hex'),
        codeHash: sha256('123456'),
        expiresAt: new Date(now.getTime() + minutes(5)),
      },
      now,
    );
    const cap = 5;
    const results = await race(pool, (r) => r.mfaCodes.takeAttempt(code, cap, new Date()));
    const slots = results.filter((s) => s !== null);
    expect(slots).toHaveLength(cap);
    expect([...slots].sort()).toEqual([1, 2, 3, 4, 5]);
    expect(await repos(ctx.storage).mfaCodes.attemptsSpent(code.id)).toBe(cap);
  });

  it('revokeAllForUser: 50 concurrent revoke-alls, racing new logins — every earlier session dies, none is lost (R40, R41)', async () => {
    const base = Date.now();
    const r0 = repos(ctx.storage);
    const earlier = [];
    for (let i = 0; i < 12; i++) {
      earlier.push(
        await r0.sessions.create({ userId: 'user-sessions', expiresAt: new Date(base + minutes(120)) }, new Date(base)),
      );
    }
    const other = await r0.sessions.create(
      { userId: 'someone-else', expiresAt: new Date(base + minutes(120)) },
      new Date(base),
    );
    // Cutoffs at base+1 … base+50 ms, landing in a scrambled order.
    await race(pool, (r, i) =>
      r.revocations.revokeAllForUser('user-sessions', new Date(base + ((i * 37) % RACERS) + 1), 'logout_all'),
    );
    const r1 = repos(ctx.storage);
    expect((await r1.revocations.cutoffFor('user-sessions'))!.getTime()).toBe(base + RACERS);
    for (const s of earlier) expect(await r1.revocations.isRevoked('user-sessions', s.id, s.createdAt)).toBe(true);
    // Same millisecond as the newest cutoff: still dead (no same-instant hole); one ms later: alive.
    expect(await r1.revocations.isRevoked('user-sessions', 'x', new Date(base + RACERS))).toBe(true);
    expect(await r1.revocations.isRevoked('user-sessions', 'y', new Date(base + RACERS + 1))).toBe(false);
    expect(await r1.revocations.isRevoked('someone-else', other.id, other.createdAt)).toBe(false);
  });

  it('revokeSession: 50 concurrent logouts of one session, exactly one takes effect (R38)', async () => {
    const now = new Date();
    const r0 = repos(ctx.storage);
    const s = await r0.sessions.create(
      { userId: 'user-logout', expiresAt: new Date(now.getTime() + minutes(120)) },
      now,
    );
    const sibling = await r0.sessions.create(
      { userId: 'user-logout', expiresAt: new Date(now.getTime() + minutes(120)) },
      now,
    );
    const results = await race(pool, (r) => r.revocations.revokeSession('user-logout', s.id, new Date(), 'logout'));
    expect(results.filter(Boolean)).toHaveLength(1);
    const r1 = repos(ctx.storage);
    expect(await r1.revocations.isRevoked('user-logout', s.id, s.createdAt)).toBe(true);
    expect(await r1.revocations.isRevoked('user-logout', sibling.id, sibling.createdAt)).toBe(false);
  });

  it("withLease: 50 concurrent holders of one lease run one at a time; a dead holder's lease runs out; a waiter gives up with 503", async () => {
    let inside = 0;
    let most = 0;
    const order: number[] = [];
    await race(pool, (r, i) =>
      withLease(r.claims, 'lease:race', { ttlMs: 10_000, waitMs: 60_000 }, async () => {
        inside += 1;
        most = Math.max(most, inside);
        await new Promise((resolve) => setTimeout(resolve, 1));
        order.push(i);
        inside -= 1;
      }),
    );
    expect(most).toBe(1);
    expect(order).toHaveLength(RACERS);
    // Released after each work: the lease is free again.
    expect(await repos(ctx.storage).claims.countInScope('lease:race')).toBe(0);

    // A holder that died (its claim left behind, never released) blocks only until its lease runs out.
    const r0 = repos(ctx.storage);
    const now = new Date();
    await r0.claims.claimOnce('lease:dead', 'lease:dead', now, new Date(now.getTime() + 300));
    const started = Date.now();
    expect(await withLease(r0.claims, 'lease:dead', { ttlMs: 10_000, waitMs: 5_000 }, async () => 'ran')).toBe('ran');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    // A live holder past the wait: the waiter does not run its work and fails like an outage (503 + Retry-After).
    await r0.claims.claimOnce('lease:held', 'lease:held', new Date(), new Date(Date.now() + 60_000));
    let ran = false;
    const refused = await withLease(r0.claims, 'lease:held', { ttlMs: 10_000, waitMs: 200 }, async () => {
      ran = true;
    }).catch((err: unknown) => err);
    expect(ran).toBe(false);
    expect((refused as Error).name).toBe('WriteLeaseTimeoutError');
    // A work that throws gives the lease up (unless told to keep it), and its error reaches the caller.
    const thrown = await withLease(r0.claims, 'lease:throws', { ttlMs: 60_000, waitMs: 200 }, async () => {
      throw new Error('work failed');
    }).catch((err: unknown) => err);
    expect((thrown as Error).message).toBe('work failed');
    expect(await r0.claims.countInScope('lease:throws')).toBe(0);
    await withLease(
      r0.claims,
      'lease:kept',
      { ttlMs: 60_000, waitMs: 200 },
      async () => {
        throw new Error('outage');
      },
      () => true,
    ).catch(() => {});
    expect(await r0.claims.countInScope('lease:kept')).toBe(1);
  });

  it('claimDue: 50 concurrent outbox workers, each message claimed by exactly one', async () => {
    const now = new Date();
    const r0 = repos(ctx.storage);
    const ids = [];
    for (let i = 0; i < 3; i++) {
      ids.push(
        (await r0.emailOutbox.enqueue({ kind: 'test', toAddress: `o${i}@example.com`, payload: '{}' }, now))!.id,
      );
    }
    const claims = await race(pool, (r) => r.emailOutbox.claimDue(new Date(), 60_000, 10));
    const claimedIds = claims.flat().map((c) => c.message.id);
    expect(claimedIds.sort()).toEqual([...ids].sort());
  });
});
