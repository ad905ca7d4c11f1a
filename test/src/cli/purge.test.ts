/**
 * Issue 20 item 5: `regstack purge` (the real command, a child process) on every backend. Seeded with rows on both
 * sides of every rule — sessions, one-time links, claims, pending sign-ups, login attempts, delivered mail — it
 * removes exactly the expired ones and reports them per table; `--dry-run` counts the same rows and removes none;
 * `--older-than` keeps rows that have not been past mattering that long. Two purges at once are safe: each exits
 * 0 or 3 (the lock), together they remove every expired row once, and a held lock makes a run exit 3 having done
 * nothing. The background purge (`purge_interval_seconds`) waits for the same lock. Used one-time tokens go at once,
 * audit events once older than `audit_retention_days` (never when it is 0).
 */

import type { EntityName } from '@mikro-orm/core';
import { ALL_ENTITIES, createRepositories, newId, type Storage } from '@regstack/server/internal';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { startRegstack, TEST_SECRET } from '../harness/regstack.ts';
import { type CliRun, expectNoStackTrace, runCli } from './cli-process.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TABLES = [
  'sessions',
  'one_time_tokens',
  'claims',
  'pending_registrations',
  'login_attempts',
  'email_outbox',
  'audit_events',
];
/** The audit retention the suite runs with (audit_retention_days). */
const RETENTION_DAYS = 365;
const entity = (table: string) =>
  ALL_ENTITIES.find((e) => e.meta.tableName === table) as unknown as EntityName<{ id: string }>;

/** The `removed` / `would remove` count of one table in a summary. */
function reported(run: CliRun, table: string): number {
  const match = new RegExp(`^ {2}${table} +([\\d,]+)`, 'm').exec(run.stdout);
  if (!match) throw new Error(`no ${table} line in:\n${run.stdout}${run.stderr}`);
  return Number(match[1]?.replaceAll(',', ''));
}

describeEachBackend('regstack purge (issue 20 item 5)', (ctx) => {
  let storage: Storage;
  const env = () => ({
    REGSTACK_DATABASE_URL: ctx.url,
    REGSTACK_JWT_SECRET: TEST_SECRET,
    REGSTACK_AUDIT_RETENTION_DAYS: String(RETENTION_DAYS),
  });
  const purge = (...args: string[]) => runCli(['purge', ...args], { env: env(), timeoutMs: 120_000 });
  const repos = () => createRepositories(storage.fork(), storage.dialect);
  const ids = async (table: string) =>
    ((await storage.fork().find(entity(table), {}, { fields: ['id'] as never })) as { id: string }[])
      .map((r) => r.id)
      .sort();

  beforeAll(async () => {
    storage = await ctx.openAnother();
  });
  afterAll(async () => {
    for (const table of TABLES) await storage.fork().nativeDelete(entity(table), {});
  });

  /**
   * Seeds, per table, rows past mattering `ago` ms ago (`gone`) and rows that still matter (`kept`); returns
   * their ids by table.
   */
  async function seed(tag: string, ago: number) {
    const now = Date.now();
    const r = repos();
    const gone: Record<string, string[]> = {};
    const kept: Record<string, string[]> = {};
    const add = (into: Record<string, string[]>, table: string, id: string) => {
      into[table] = [...(into[table] ?? []), id];
    };
    const user = newId();
    for (const [into, expiresAt] of [
      [gone, now - ago],
      [kept, now + HOUR],
    ] as const) {
      const created = new Date(Math.min(expiresAt, now) - HOUR);
      const session = await r.sessions.create({ userId: user, expiresAt: new Date(expiresAt) }, created);
      add(into, 'sessions', session.id);
      const token = await r.oneTimeTokens.issue(
        {
          tokenHash: newId().padEnd(64, 'x'),
          purpose: 'password_reset',
          subjectId: user,
          expiresAt: new Date(expiresAt),
        },
        created,
      );
      add(into, 'one_time_tokens', (token as { id: string }).id);
      const claim = `test:${tag}:${newId()}`;
      await r.claims.claimOnce(claim, 'test', created, new Date(expiresAt));
      add(into, 'claims', claim);
      const pending = await r.pendingRegistrations.insertAttempt(
        { email: `${tag}-${newId()}@example.com`, hashedPassword: 'h', expiresAt: new Date(expiresAt) },
        created,
        5,
      );
      add(into, 'pending_registrations', pending.id);
    }
    // A token used (or retired) `ago` ms ago but not expired: findLive never matches it and its claim otk:<id>,
    // kept until the token's expiry, is what refuses a replay, so the row goes (issue 20 item 1).
    const usedHash = newId().padEnd(64, 'u');
    const used = await r.oneTimeTokens.issue(
      { tokenHash: usedHash, purpose: 'password_reset', subjectId: newId(), expiresAt: new Date(now + HOUR) },
      new Date(now - ago - HOUR),
    );
    if (!(await r.oneTimeTokens.consumeOnce(usedHash, 'password_reset', new Date(now - ago)))) throw new Error('use');
    add(gone, 'one_time_tokens', used.id);
    // Audit events: older than audit_retention_days, and younger.
    for (const [into, createdAgo] of [
      [gone, RETENTION_DAYS * DAY + DAY + ago],
      [kept, RETENTION_DAYS * DAY - DAY],
    ] as const) {
      const at = new Date(now - createdAgo);
      await r.auditEvents.record({ event: `test.${tag}`, subjectId: user }, at);
      const [row] = (await storage
        .fork()
        .find(entity('audit_events'), { createdAt: at } as never, { fields: ['id'] as never })) as { id: string }[];
      add(into, 'audit_events', (row as { id: string }).id);
    }
    // Login attempts: far outside every counter's window, and inside it.
    await r.loginAttempts.recordAndCount(`login:${tag}-old`, new Date(now - 40 * DAY - ago), new Date(0));
    await r.loginAttempts.recordAndCount(`login:${tag}-new`, new Date(now - 60_000), new Date(0));
    // Mail: delivered long ago (past the 7-day keep), delivered recently, not delivered at all.
    for (const [sentAgo, into] of [
      [7 * DAY + ago, gone],
      [DAY, kept],
      [undefined, kept],
    ] as const) {
      const message = await r.emailOutbox.enqueue(
        { kind: 'verify', toAddress: `${tag}@example.com`, payload: '{}' },
        new Date(now - 20 * DAY - ago),
      );
      if (!message) throw new Error('enqueue');
      if (sentAgo !== undefined) await r.emailOutbox.markSent(message.id, new Date(now - sentAgo));
      add(into, 'email_outbox', message.id);
    }
    return { gone, kept, user };
  }

  it('removes exactly the expired rows, reports them per table; --dry-run counts them and removes nothing', async () => {
    const { gone, kept } = await seed('exact', 2 * HOUR);
    const attempts = await ids('login_attempts');
    const before = Object.fromEntries(await Promise.all(TABLES.map(async (t) => [t, await ids(t)] as const)));

    const dry = await purge('--dry-run');
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^Dry run on .*: nothing was removed\.$/m);
    for (const table of TABLES) {
      if (table !== 'login_attempts') expect(reported(dry, table), table).toBe(gone[table]?.length ?? 0);
    }
    expect(reported(dry, 'login_attempts')).toBe(1);
    for (const table of TABLES) expect(await ids(table), `${table} after --dry-run`).toEqual(before[table]);

    const run = await purge('--batch-size', '1');
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expectNoStackTrace(run);
    expect(run.stderr, 'no progress noise without a terminal').toBe('');
    expect(run.stdout).toMatch(/^Purged .* in [\d.]+ s:$/m);
    for (const table of TABLES) {
      if (table === 'login_attempts') continue;
      expect(reported(run, table), table).toBe(gone[table]?.length ?? 0);
      const left = await ids(table);
      for (const id of gone[table] ?? []) expect(left, `${table}: an expired row stayed`).not.toContain(id);
      for (const id of kept[table] ?? []) expect(left, `${table}: a live row went`).toContain(id);
    }
    expect(reported(run, 'revocations')).toBe(0);
    expect(reported(run, 'login_attempts')).toBe(1);
    expect(await ids('login_attempts')).toHaveLength(attempts.length - 1);
    expect(
      await repos().loginAttempts.countSince('login:exact-new', new Date(0)),
      'an attempt inside the window stays',
    ).toBe(1);
  });

  it('audit_retention_days = 0 (the default) keeps every audit event, however old (issue 20 item 1)', async () => {
    const at = new Date(Date.now() - 20 * 365 * DAY);
    await repos().auditEvents.record({ event: 'test.ancient' }, at);
    const ancient = () => storage.fork().count(entity('audit_events'), { createdAt: at } as never);
    const run = await runCli(['purge'], { env: { ...env(), REGSTACK_AUDIT_RETENTION_DAYS: '0' }, timeoutMs: 120_000 });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(reported(run, 'audit_events')).toBe(0);
    expect(await ancient()).toBe(1);
    expect((await purge()).code).toBe(0);
    expect(await ancient(), 'with audit_retention_days set it goes').toBe(0);
  });

  it('--older-than keeps what has not been past mattering that long', async () => {
    const recent = await seed('recent', 2 * HOUR);
    const old = await seed('old', 3 * DAY);
    const run = await purge('--older-than', '1d');
    expect(run.code, run.stdout + run.stderr).toBe(0);
    for (const table of ['sessions', 'one_time_tokens', 'claims', 'pending_registrations', 'email_outbox']) {
      const left = await ids(table);
      for (const id of old.gone[table] ?? []) expect(left, `${table}: long expired`).not.toContain(id);
      for (const id of recent.gone[table] ?? []) expect(left, `${table}: expired under a day ago`).toContain(id);
      expect(reported(run, table)).toBe(old.gone[table]?.length ?? 0);
    }
    const bad = await purge('--older-than', 'yesterday');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--older-than <age>' argument 'yesterday' is invalid/);
    // What is left goes without the flag.
    expect((await purge()).code).toBe(0);
  });

  it('a held purge lock: exit 3, nothing removed; two purges at once remove every expired row once', async () => {
    const { gone } = await seed('lock', HOUR);
    // The lock as another instance holds it, live.
    expect(await repos().claims.claimOnce('purge:lock', 'purge', new Date(), new Date(Date.now() + HOUR))).toBe(true);
    const locked = await purge();
    expect(locked.code, locked.stdout + locked.stderr).toBe(3);
    expect(locked.stderr).toBe(
      'regstack: another instance is purging right now (it holds the purge lock); nothing done\n',
    );
    expect(locked.stdout).toBe('');
    for (const id of gone.claims ?? []) expect(await ids('claims')).toContain(id);
    await repos().claims.release('purge:lock');

    // Many expired rows in small batches, so the two runs overlap.
    const r = repos();
    const many: string[] = [];
    for (let i = 0; i < 150; i++) {
      const id = `test:race:${newId()}`;
      await r.claims.claimOnce(id, 'test', new Date(Date.now() - 2 * HOUR), new Date(Date.now() - HOUR));
      many.push(id);
    }
    // Every expired claim, the seeded ones and those the sign-up rows took, as a dry run counts them.
    const expired = reported(await purge('--dry-run'), 'claims');
    expect(expired).toBeGreaterThanOrEqual(many.length + (gone.claims?.length ?? 0));
    const runs = await Promise.all([purge('--batch-size', '5'), purge('--batch-size', '5')]);
    for (const run of runs) {
      expect([0, 3], run.stdout + run.stderr).toContain(run.code);
      expectNoStackTrace(run);
    }
    expect(runs.some((run) => run.code === 0)).toBe(true);
    const removed = runs.filter((run) => run.code === 0).reduce((sum, run) => sum + reported(run, 'claims'), 0);
    expect(removed).toBe(expired);
    const left = await ids('claims');
    for (const id of many) expect(left).not.toContain(id);
    expect(left).not.toContain('purge:lock');
  });

  it('the background purge (purge_interval_seconds) waits for the same lock', async () => {
    const r = repos();
    const expired = `test:background:${newId()}`;
    await r.claims.claimOnce(expired, 'test', new Date(Date.now() - 2 * HOUR), new Date(Date.now() - HOUR));
    expect(await r.claims.claimOnce('purge:lock', 'purge', new Date(), new Date(Date.now() + HOUR))).toBe(true);
    const t = await startRegstack(ctx.url, { purgeIntervalSeconds: 1 });
    try {
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(await ids('claims'), 'purged while another instance held the lock').toContain(expired);
      await r.claims.release('purge:lock');
      const deadline = Date.now() + 10_000;
      while ((await ids('claims')).includes(expired) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(await ids('claims')).not.toContain(expired);
    } finally {
      await t.regstack.close();
    }
  });
});
