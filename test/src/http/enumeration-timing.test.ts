/**
 * Timing as an enumeration oracle, over real HTTP on every backend: registering a taken address must cost what
 * registering a free one does (R12: one argon2 hash on both paths), and resendVerification must cost the same
 * for an unknown, a pending and a verified address (R11: the lookup happens later, in a job). Each compares
 * medians of interleaved samples. The control shows the measurement can see a skipped hash on this machine: a
 * registration refused before hashing (a common password) is clearly faster.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';
import { rawClient } from './http-client.ts';

const SAMPLES = 9;
const PASSWORD = 'one slow hash for every address';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

describeEachBackend('enumeration by timing over HTTP', (ctx) => {
  let t: TestRegstack;
  let server: { url: string; close(): Promise<void> };
  let api: ReturnType<typeof rawClient>;
  beforeAll(async () => {
    t = await startRegstack(ctx.url, { registerRateLimit: 'none', resendVerificationRateLimit: 'none' });
    server = await t.regstack.listen({ port: 0 });
    api = rawClient(server.url);
  });
  afterAll(async () => {
    await server?.close();
    await t?.regstack.close();
  });

  /** Milliseconds of one call, with its status. */
  async function timed(call: () => Promise<{ status: number }>): Promise<{ ms: number; status: number }> {
    const start = performance.now();
    const { status } = await call();
    return { ms: performance.now() - start, status };
  }

  /** Interleaves the variants SAMPLES times (after one warm-up round) and returns each one's median. */
  async function medians(variants: Record<string, (i: number) => Promise<{ status: number }>>) {
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
    for (let i = -1; i < SAMPLES; i++) {
      for (const [name, call] of Object.entries(variants)) {
        const { ms, status } = await timed(() => call(i + 1));
        if (i >= 0) samples[name]?.push(ms);
        expect(status, name).toBe(200);
      }
    }
    return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
  }

  it('a taken address registers in the time a free one does (R12)', async () => {
    const { email } = await createVerifiedUser(t, 'timing-owner@example.com');
    const register = (address: string) => api.mutation('auth.register', { email: address, password: PASSWORD });
    const m = await medians({
      free: (i) => register(`timing-free-${i}@example.com`),
      taken: () => register(email.toUpperCase()),
    });
    const ratio = (m.taken as number) / (m.free as number);
    expect(ratio, JSON.stringify(m)).toBeGreaterThan(0.5);
    expect(ratio, JSON.stringify(m)).toBeLessThan(2);

    // Control: without the hash the answer comes measurably sooner — the comparison above could see a skip.
    const refused: number[] = [];
    const hashed: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const common = await timed(() =>
        api.mutation('auth.register', { email: `timing-common-${i}@example.com`, password: 'administrator' }),
      );
      expect(common.status).toBe(400); // PASSWORD_TOO_COMMON, decided before any hash (R5)
      refused.push(common.ms);
      hashed.push((await timed(() => register(`timing-hashed-${i}@example.com`))).ms);
    }
    expect(median(refused)).toBeLessThan(median(hashed) * 0.5);
  });

  it('resendVerification costs the same for unknown, pending and verified addresses (R11)', async () => {
    const { email: verified } = await createVerifiedUser(t, 'timing-verified@example.com');
    await api.mutation('auth.register', { email: 'timing-pending@example.com', password: PASSWORD });
    const resend = (address: string) => api.mutation('auth.resendVerification', { email: address });
    const m = await medians({
      unknown: (i) => resend(`timing-nobody-${i}@example.com`),
      pending: () => resend('timing-pending@example.com'),
      verified: () => resend(verified),
    });
    for (const name of ['pending', 'verified'] as const) {
      const ratio = (m[name] as number) / (m.unknown as number);
      expect(ratio, JSON.stringify(m)).toBeGreaterThan(0.5);
      expect(ratio, JSON.stringify(m)).toBeLessThan(2);
    }
  });
});
