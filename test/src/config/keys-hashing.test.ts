/**
 * Issue 20, "every config key honest": `hash_queue_limit` (R7), over real HTTP. With one hashing slot, a burst of
 * logins admits the one that takes the slot plus at most `hash_queue_limit` waiting ones — at least that many are
 * answered — and sheds the rest with 503 SERVER_BUSY and `Retry-After`; the same burst under the default limit (32)
 * is answered in full. Counts are bounds, never timings, so a loaded machine cannot make it flake.
 */
import { expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { startRegstack } from '../harness/regstack.ts';
import { error, type RawResponse, rawClient } from '../http/http-client.ts';

const BURST = 16;

describeEachBackend('hash_queue_limit (issue 20)', (ctx) => {
  const burst = async (hashQueueLimit: number): Promise<RawResponse[]> => {
    // One slot and a slower hash (6 passes): the burst arrives while the first hash still runs.
    const t = await startRegstack(ctx.url, {
      hashConcurrency: 1,
      argon2Iterations: 6,
      hashQueueLimit,
      loginRateLimit: 'none',
    });
    const server = await t.regstack.listen({ port: 0 });
    try {
      const api = rawClient(server.url);
      return await Promise.all(
        Array.from({ length: BURST }, (_, i) =>
          api.mutation('auth.login', { email: `queue-${hashQueueLimit}-${i}@example.com`, password: 'not it at all' }),
        ),
      );
    } finally {
      await server.close();
      await t.regstack.close();
    }
  };

  // A property of the hasher, not of the database: run once.
  it.skipIf(ctx.backend !== 'sqlite')(
    'hash_queue_limit sheds the logins beyond it with 503 SERVER_BUSY and Retry-After',
    async () => {
      const small = await burst(3);
      const shed = small.filter((r) => r.status === 503);
      const answered = small.filter((r) => r.status === 401);
      expect(shed.length + answered.length).toBe(BURST);
      // The slot's holder and the three that may wait are always answered; the rest of the burst is shed.
      expect(answered.length).toBeGreaterThanOrEqual(4);
      expect(shed.length).toBeGreaterThan(0);
      for (const r of shed) {
        expect(error(r).data.regstackCode).toBe('SERVER_BUSY');
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      }
      // The default (32) lets the whole burst wait its turn.
      const roomy = await burst(32);
      expect(roomy.map((r) => r.status)).toEqual(Array(BURST).fill(401));
    },
  );
});
