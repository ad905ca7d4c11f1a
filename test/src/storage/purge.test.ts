/**
 * A long per-user history cannot slow login (issue 14 item 4), on every backend: the purge removes, in batches, the
 * rows that can no longer decide anything — and nothing that still does (a live session's logout, the bulk cutoff,
 * a counter still in its window); one instance purges at a time. On the SQL backends the per-user reads that
 * every login and every authenticated call make are index probes that skip the user's per-session facts.
 */
import { createRepositories, newId, OAuthStateSchema } from '@regstack/server/internal';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { codeOf } from '../harness/outcomes.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';

const HOUR = 3_600_000;

describeEachBackend('purge', (ctx) => {
  let t: TestRegstack;
  beforeAll(async () => {
    t = await startRegstack(ctx.url);
  });
  afterAll(async () => {
    await t?.regstack.close();
  });
  const repos = () => createRepositories(t.regstack.storage.fork(), t.regstack.storage.dialect);

  it('removes expired sessions with their logout facts, expired links and old attempts — and keeps what still decides', async () => {
    const { email, password } = await createVerifiedUser(t, 'history@example.com');
    const r = repos();
    const user = (await r.users.findByEmail(email))!;
    const now = Date.now();
    // A long history: sessions that expired after being logged out one by one.
    const HISTORY = 230;
    for (let i = 0; i < HISTORY; i++) {
      const created = new Date(now - 3 * HOUR - i * 1000);
      const s = await r.sessions.create({ userId: user.id, expiresAt: new Date(created.getTime() + HOUR) }, created);
      await r.revocations.revokeSession(user.id, s.id, new Date(created.getTime() + 10), 'logout');
    }
    await r.revocations.revokeAllForUser(user.id, new Date(now - 2 * HOUR), 'logout_all');
    // Live: one session logged out (its fact must stay: it is what refuses it), one signed in.
    const caller = t.regstack.createCaller();
    const loggedOut = await caller.login({ email, password });
    const signedIn = await caller.login({ email, password });
    if (loggedOut.status !== 'authenticated' || signedIn.status !== 'authenticated') throw new Error('expected login');
    await t.regstack.createCaller({ accessToken: loggedOut.accessToken }).logout();
    // An expired link, a live one; an old attempt and one still in the window.
    await r.oneTimeTokens.issue(
      { tokenHash: 'a'.repeat(64), purpose: 'password_reset', subjectId: user.id, expiresAt: new Date(now - 1000) },
      new Date(now - HOUR),
    );
    await r.oneTimeTokens.issue(
      { tokenHash: 'b'.repeat(64), purpose: 'password_reset', subjectId: user.id, expiresAt: new Date(now + HOUR) },
      new Date(now),
    );
    await r.loginAttempts.recordAndCount('login:old@example.com', new Date(now - 3 * 86_400_000), new Date(0));
    await r.loginAttempts.recordAndCount('login:recent@example.com', new Date(now - 60_000), new Date(0));

    // An OpenID sign-in that was started and never finished, and one still under way.
    for (const [id, expiresAt] of [
      ['c'.repeat(64), new Date(now - 1000)],
      ['d'.repeat(64), new Date(now + HOUR)],
    ] as const) {
      await t.regstack.storage.fork().insert(OAuthStateSchema, {
        id,
        kind: 'start',
        provider: 'google',
        nonce: null,
        codeVerifier: null,
        redirectTo: null,
        userId: null,
        expiresAt,
        createdAt: new Date(now - HOUR),
      });
    }

    const progress: number[] = [];
    const result = await t.regstack.purge({ batchSize: 50, onProgress: (c) => progress.push(c.sessions) });
    if (result.status !== 'purged') throw new Error('expected a purge');
    expect(result.counts.sessions).toBe(HISTORY);
    expect(result.counts.revocations).toBe(HISTORY);
    expect(result.counts.oneTimeTokens).toBeGreaterThanOrEqual(1);
    expect(result.counts.loginAttempts).toBeGreaterThanOrEqual(1);
    expect(result.counts.oauthStates).toBe(1);
    expect(progress.filter((n, i) => n > (progress[i - 1] ?? 0)).length).toBeGreaterThanOrEqual(5); // in batches

    const after = repos();
    expect(await after.sessions.listUnexpiredForUser(user.id, new Date())).toHaveLength(2);
    expect(await after.revocations.cutoffFor(user.id)).toEqual(new Date(now - 2 * HOUR)); // the cutoff stays
    expect(await after.oneTimeTokens.findLive('b'.repeat(64), 'password_reset', new Date())).not.toBeNull();
    expect(await after.loginAttempts.countSince('login:recent@example.com', new Date(0))).toBe(1);
    expect(await after.loginAttempts.countSince('login:old@example.com', new Date(0))).toBe(0);
    const states = await t.regstack.storage.fork().find(OAuthStateSchema, {});
    expect(states.map((s) => s.id)).toEqual(['d'.repeat(64)]);
    // What decides still decides: the logged-out session is refused, the other works, login works.
    expect(await codeOf(t.regstack.createCaller({ accessToken: loggedOut.accessToken }).account.me())).toBe(
      'UNAUTHENTICATED',
    );
    expect((await t.regstack.createCaller({ accessToken: signedIn.accessToken }).account.me()).email).toBe(email);
    expect((await caller.login({ email, password })).status).toBe('authenticated');
  });

  it('one instance purges at a time; the lock of a holder that died expires', async () => {
    const r = repos();
    for (let i = 0; i < 120; i++) {
      await r.claims.claimOnce(`test:${newId()}`, 'test', new Date(Date.now() - 2 * HOUR), new Date(Date.now() - HOUR));
    }
    const results = await Promise.all([t.regstack.purge({ batchSize: 10 }), t.regstack.purge({ batchSize: 10 })]);
    expect(results.map((x) => x.status).sort()).toEqual(['locked', 'purged']);
    // A lock left behind by a dead holder stops nobody once it has expired.
    await r.claims.claimOnce('purge:lock', 'purge', new Date(Date.now() - 2 * HOUR), new Date(Date.now() - HOUR));
    expect((await t.regstack.purge()).status).toBe('purged');
  });

  it.skipIf(ctx.backend.startsWith('mongodb'))(
    "reads a user's bulk cutoff with one index probe, however many logouts the user has (issue 14 item 4)",
    async () => {
      const sql = t.regstack.storage.dialect.sql!;
      const em = t.regstack.storage.fork();
      const cutoff = 'select max(revoked_at) as cutoff from revocations where user_id = ? and session_id is null';
      if (ctx.backend === 'postgres') {
        // Planner choices depend on statistics: ask it to avoid sequential scans, as it would on a big table.
        await sql.all(em, 'analyze revocations', []);
        const rows = await t.regstack.storage.atomically(async () => {
          const tx = t.regstack.storage.fork();
          await sql.run(tx, 'set local enable_seqscan = off', []);
          return sql.all(tx, `explain ${cutoff.replace('?', '$1')}`, ['someone']);
        });
        const plan = rows.map((row) => String(Object.values(row)[0])).join('\n');
        // The index condition covers session_id: no per-session fact is read and filtered out.
        expect(plan).toMatch(/Index Cond: .*user_id.*session_id IS NULL/s);
        expect(plan).not.toMatch(/Filter: .*session_id/);
      } else {
        const rows = await sql.all(em, `explain query plan ${cutoff}`, ['someone']);
        const plan = rows.map((row) => String(row.detail)).join('\n');
        expect(plan).toMatch(/USING (COVERING )?INDEX \S+ \(user_id=\? AND session_id=\?\)/);
      }
    },
  );
});
