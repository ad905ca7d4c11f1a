/**
 * PostgreSQL's `regstack_record_attempt` (server/src/db/routines.ts) records an attempt and counts the window in
 * one statement, and every count still includes each attempt committed before it (R17). Two connections, one
 * key: while the first holds its attempt uncommitted (inside a transaction, as no regstack caller does, to
 * widen the window), the second must wait, then count both. A count made without the key's lock, or with the
 * calling statement's snapshot (taken before the wait), would answer 1 at once — the race that would let a
 * burst of concurrent logins buy more password checks than the limit.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';

describeEachBackend('the attempt-recording routine', (ctx) => {
  it.skipIf(ctx.backend !== 'postgres')('counts an attempt committed while it waited, never before', async () => {
    const holder = new pg.Client({ connectionString: ctx.url });
    const racer = new pg.Client({ connectionString: ctx.url });
    await Promise.all([holder.connect(), racer.connect()]);
    try {
      const key = `email:routine-${randomBytes(4).toString('hex')}@example.com`;
      const windowStart = new Date(Date.now() - 60_000);
      const record = (client: pg.Client, id: string) =>
        client
          .query<{ n: string }>('select regstack_record_attempt($1, $2, $3, $4) as n', [
            id,
            key,
            new Date(),
            windowStart,
          ])
          .then((r) => Number(r.rows[0]?.n));

      await holder.query('begin');
      expect(await record(holder, `a-${key}`)).toBe(1);
      let settled = false;
      const second = record(racer, `b-${key}`).finally(() => {
        settled = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(settled).toBe(false); // queued behind the first attempt's transaction
      await holder.query('commit');
      expect(await second).toBe(2);
      expect(await record(holder, `c-${key}`)).toBe(3); // the window holds all three
    } finally {
      await Promise.all([holder.end(), racer.end()]);
    }
  });
});
