/**
 * The one-statement authentication lookup the SQL dialects use on every authenticated call must say exactly
 * what the repositories say: live session, its user (fresh), and whether any revocation fact covers it —
 * including a bulk cutoff in the very millisecond of the session's creation (R40). MongoDB has no such
 * statement and uses the repositories directly.
 */
import { expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { repos } from './concurrency.ts';

describeEachBackend('authentication lookup', (ctx) => {
  it.skipIf(ctx.backend.startsWith('mongodb'))('agrees with the repositories on every rule', async () => {
    const lookup = ctx.storage.dialect.authLookup;
    if (!lookup) throw new Error('SQL dialects must provide authLookup');
    const base = Date.now();
    const r = repos(ctx.storage);
    const user = await r.users.insertIfEmailFree(
      { email: 'lookup@example.com', hashedPassword: 'h', fullName: 'Look Up', isVerified: true },
      new Date(base),
    );
    const session = await r.sessions.create(
      { userId: user!.id, expiresAt: new Date(base + 60_000), userAgent: 'ua', ip: '192.0.2.1' },
      new Date(base + 10),
    );
    const at = (ms: number) => lookup(ctx.storage.fork(), session.id, new Date(base + ms));

    const live = await at(20);
    expect(live?.revoked).toBe(false);
    expect(live?.user).toMatchObject({
      id: user!.id,
      email: 'lookup@example.com',
      fullName: 'Look Up',
      isActive: true,
      isVerified: true,
      isSuperuser: false,
      isMfaEnabled: false,
      lastLoginAt: null,
    });
    expect(live?.user.createdAt.getTime()).toBe(base);
    expect(live?.sessionCreatedAt.getTime()).toBe(base + 10);
    expect(await at(60_001)).toBeNull(); // expired
    expect(await lookup(ctx.storage.fork(), 'no-such-session', new Date(base))).toBeNull();

    await r.revocations.revokeAllForUser(user!.id, new Date(base + 9), 'logout_all'); // before creation
    expect((await at(20))?.revoked).toBe(false);
    await r.revocations.revokeAllForUser(user!.id, new Date(base + 10), 'logout_all'); // same millisecond
    expect((await at(20))?.revoked).toBe(true);
    expect(await repos(ctx.storage).revocations.isRevoked(user!.id, session.id, session.createdAt)).toBe(true);

    const other = await r.sessions.create(
      { userId: user!.id, expiresAt: new Date(base + 60_000) },
      new Date(base + 20),
    );
    expect((await lookup(ctx.storage.fork(), other.id, new Date(base + 30)))?.revoked).toBe(false);
    await r.revocations.revokeSession(user!.id, other.id, new Date(base + 30), 'logout');
    expect((await lookup(ctx.storage.fork(), other.id, new Date(base + 31)))?.revoked).toBe(true);
  });
});
