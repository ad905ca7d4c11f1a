/**
 * Issue 14 item 9 (R69, R56, R64, R7): malformed superjson envelopes over real HTTP, on every backend. Each
 * payload that drove superjson into a stack overflow, looked up a `class`, `custom` or `symbol` registry, or
 * leaked a runtime message ("Cannot destructure property 'json' …", "Maximum call stack size exceeded", a
 * JSON parser's position) gets one generic 400 VALIDATION_FAILED; a burst of them does not hold up
 * `/healthz`; what regstack's client really sends (`undefined` for an omitted field) still works. The same
 * holds for a host that serves `regstack.router` through its own tRPC adapter with `regstackTransformer`.
 */
import type { AddressInfo } from 'node:net';
import { createRegstackClient } from '@regstack/client';
import { formatRegstackError, type Regstack, type RegstackContext, regstackTransformer } from '@regstack/server';
import { initTRPC } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';

const PASSWORD = 'correct horse battery staple';
const email = 'envelope@example.com';
const nested = (n: number) => `{"json":{"email":${'['.repeat(n)}${']'.repeat(n)}}}`;

/** Envelopes regstack's client never sends (as request bodies); each must get the generic refusal. */
const ATTACK_VALUES: Record<string, unknown> = {
  'class transform on a field': { json: { email }, meta: { values: { email: [['class', 'X']] }, v: 1 } },
  'class transform on the root': { json: { email }, meta: { values: [['class', 'X']], v: 1 } },
  'custom transform': { json: { email }, meta: { values: { email: [['custom', 'X']] }, v: 1 } },
  'symbol transform': { json: { email }, meta: { values: { email: [['symbol', 'X']] }, v: 1 } },
  'typed-array transform': { json: { email: [1] }, meta: { values: { email: [['typed-array', 'Int8Array']] }, v: 1 } },
  'recursion: annotation tree is a string': { json: { email }, meta: { values: 'x', v: 1 } },
  'recursion: annotation leaf is a string': { json: { email }, meta: { values: { email: 'xx' }, v: 1 } },
  'recursion: legacy version': { json: { email }, meta: { values: 'x' } },
  'referential equalities (a cycle)': { json: { email: {} }, meta: { referentialEqualities: [['email']], v: 1 } },
  'referential equalities of a string': { json: { email }, meta: { referentialEqualities: 'ab', v: 1 } },
  'null envelope': null,
  'string envelope': 'x',
  'array envelope': [{ json: { email } }],
  'no json key': { meta: { v: 1 } },
  'unknown envelope key': { json: { email }, extra: 1 },
  'unknown meta key': { json: { email }, meta: { v: 1, other: 1 } },
  'Error transform': { json: { email: { message: 'x' } }, meta: { values: { email: ['Error'] }, v: 1 } },
  'regexp transform': { json: { email: '/(a+)+$/' }, meta: { values: { email: ['regexp'] }, v: 1 } },
  'map transform': { json: { email: [['a', 1]] }, meta: { values: { email: ['map'] }, v: 1 } },
  'bigint transform': { json: { email: '1' }, meta: { values: { email: ['bigint'] }, v: 1 } },
  'undefined annotation on a non-null value': { json: { email }, meta: { values: { email: ['undefined'] }, v: 1 } },
  'annotation on a missing path': { json: { email }, meta: { values: { 'a.b.c': ['undefined'] }, v: 1 } },
  'prototype path': {
    json: { email },
    meta: { values: { __proto__x: ['undefined'], 'constructor.prototype': ['undefined'] }, v: 1 },
  },
};
const ATTACKS: Record<string, string> = {
  ...Object.fromEntries(Object.entries(ATTACK_VALUES).map(([name, value]) => [name, JSON.stringify(value)])),
  'deep nesting': nested(5000),
  'nesting past the bound': nested(25),
  '__proto__ key': `{"json":{"email":"${email}","__proto__":{"admin":true}}}`,
};

const GENERIC = (path: string) => ({
  error: {
    json: {
      message: 'Malformed request',
      code: -32600,
      data: { code: 'BAD_REQUEST', httpStatus: 400, path, regstackCode: 'VALIDATION_FAILED' },
    },
  },
});

async function post(url: string, body: string) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: res.status, text: await res.text() };
}

/** The refusals a server must give; `base` is the tRPC endpoint, `procedure` one that takes input. */
function itRefusesEveryAttack(base: () => string, procedure: string) {
  it('answers every malformed envelope with the one generic VALIDATION_FAILED (R69, R64)', async () => {
    for (const [name, envelope] of Object.entries(ATTACKS)) {
      const res = await post(`${base()}/${procedure}`, envelope);
      expect(res.status, name).toBe(400);
      expect(JSON.parse(res.text), name).toEqual(GENERIC(procedure));
    }
  });

  it('refuses them in a batch too, call by call', async () => {
    const calls = Object.values(ATTACKS).slice(0, 10);
    const paths = calls.map(() => procedure).join(',');
    const body = `{${calls.map((c, i) => `"${i}":${c}`).join(',')}}`;
    const res = await post(`${base()}/${paths}?batch=1`, body);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toEqual(calls.map(() => GENERIC(procedure)));
  });

  it('a body that is not JSON gets the same answer, without the parser’s text', async () => {
    for (const body of ['{bad', '{"json":', '\u0000', '[1,]']) {
      const res = await post(`${base()}/${procedure}`, body);
      expect(res.status, body).toBe(400);
      expect(JSON.parse(res.text), body).toEqual(GENERIC(procedure));
    }
  });
}

describeEachBackend('the wire envelope over HTTP (issue 14 item 9)', (ctx) => {
  let t: TestRegstack;
  let server: { url: string; close(): Promise<void> };
  const base = () => `${server.url}/trpc`;
  beforeAll(async () => {
    t = await startRegstack(ctx.url, { loginRateLimit: 'none', forgotPasswordRateLimit: 'none' });
    server = await t.regstack.listen({ port: 0 });
    await createVerifiedUser(t, email);
  });
  afterAll(async () => {
    await server?.close();
    await t?.regstack.close();
  });

  itRefusesEveryAttack(base, 'auth.forgotPassword');

  it('no body names an exception, a library or the stack (R64)', async () => {
    for (const envelope of Object.values(ATTACKS)) {
      const res = await post(`${base()}/auth.login`, envelope);
      expect(res.text).not.toMatch(/superjson|destructure|call stack|deserialize|Trying|unknown|SyntaxError|at /i);
    }
  });

  it('thirty recursion payloads in flight are all refused while /healthz answers (R7)', async () => {
    const attack = ATTACKS['recursion: annotation tree is a string'] as string;
    expect(attack.length).toBeLessThan(100);
    // The check is iterative and bounded, so superjson's recursion is never entered (the overflow itself is
    // not timed here: on a shared machine its cost hides in the noise).
    const burst = Array.from({ length: 30 }, () => post(`${base()}/auth.forgotPassword`, attack));
    const health = await fetch(`${server.url}/healthz`);
    const results = await Promise.all(burst);
    expect(health.status).toBe(200);
    for (const r of results) expect(JSON.parse(r.text)).toEqual(GENERIC('auth.forgotPassword'));
  });

  it('what the client sends still works: an omitted optional field (`undefined`) and plain JSON', async () => {
    const fresh = 'envelope-new@example.com';
    const registered = await post(
      `${base()}/auth.register`,
      JSON.stringify(superjson.serialize({ email: fresh, password: PASSWORD, fullName: undefined })),
    );
    expect(registered.status).toBe(200);
    const login = await post(
      `${base()}/auth.login`,
      JSON.stringify(superjson.serialize({ email, password: PASSWORD })),
    );
    expect(login.status).toBe(200);
    // and through regstack's own client (httpBatchLink + superjson), with and without input
    const client = createRegstackClient({ url: base() });
    await client.login({ email, password: PASSWORD });
    expect(client.getUser()?.email).toBe(email);
    await client.logout();
  });
});

/** A host's own root, as SPEC §3 nests regstack: its own initTRPC, regstack under `auth`, a host procedure. */
function hostRouter(regstack: Regstack) {
  const host = initTRPC.context<RegstackContext>().create({
    transformer: regstackTransformer,
    errorFormatter: (opts) => formatRegstackError(opts),
  });
  return host.router({
    auth: regstack.router,
    echoDate: host.procedure
      .input((raw: unknown) => {
        const v = raw as { at?: unknown; note?: unknown };
        if (!(v?.at instanceof Date) || !(v.note === undefined || typeof v.note === 'string')) throw new Error('bad');
        return { at: v.at, note: v.note as string | undefined };
      })
      .mutation(({ input }) => ({ at: input.at, year: input.at.getUTCFullYear(), note: input.note })),
    echo: host.procedure.input((raw: unknown) => raw).query(({ input }) => ({ input })),
  });
}

describe('the wire envelope through a host’s own tRPC adapter (issue 14 item 9)', () => {
  let t: TestRegstack;
  let server: ReturnType<typeof createHTTPServer>;
  let url = '';
  const base = () => url;
  beforeAll(async () => {
    t = await startRegstack('sqlite::memory:', { loginRateLimit: 'none', forgotPasswordRateLimit: 'none' });
    const regstack = t.regstack;
    server = createHTTPServer({
      router: hostRouter(regstack),
      basePath: '/trpc/',
      createContext: ({ req }) => regstack.createContext({ req }),
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/trpc`;
    await createVerifiedUser(t, email);
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await t?.regstack.close();
  });

  itRefusesEveryAttack(base, 'auth.forgotPassword');

  it('the host’s own procedures are guarded too, and still take a Date and an omitted field', async () => {
    const res = await post(`${url}/echoDate`, ATTACKS['recursion: annotation tree is a string'] as string);
    expect(JSON.parse(res.text)).toEqual(GENERIC('echoDate'));
    const ok = await post(
      `${url}/echoDate`,
      JSON.stringify(superjson.serialize({ at: new Date('2024-02-29T12:00:00Z'), note: undefined })),
    );
    expect(ok.status).toBe(200);
    const data = superjson.deserialize(JSON.parse(ok.text).result.data) as { at: Date; year: number };
    expect(data.at).toEqual(new Date('2024-02-29T12:00:00Z'));
    expect(data.year).toBe(2024);
  });

  it('a query’s `?input=` (single and batched) gets the same check and the same answer', async () => {
    const attack = ATTACKS['class transform on a field'] as string;
    for (const query of [
      `echo?input=${encodeURIComponent(attack)}`,
      `echo,echo?batch=1&input=${encodeURIComponent(`{"0":${attack},"1":{"json":1}}`)}`,
      `echo?input=${encodeURIComponent('{bad')}`,
    ]) {
      const res = await fetch(`${url}/${query}`);
      expect(res.status, query).toBe(400);
      const body = JSON.parse(await res.text());
      for (const item of Array.isArray(body) ? body : [body]) expect(item, query).toEqual(GENERIC('echo'));
    }
    const ok = await fetch(`${url}/echo?input=${encodeURIComponent(JSON.stringify(superjson.serialize({ a: 1 })))}`);
    expect(ok.status).toBe(200);
  });

  it('regstack’s client works against the host', async () => {
    const client = createRegstackClient({ url, path: 'auth' });
    await client.login({ email, password: PASSWORD });
    expect(client.getUser()?.email).toBe(email);
  });
});
