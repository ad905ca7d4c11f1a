/**
 * Issue 16 item 3, over real HTTP on every backend: `cors_origins`. A preflight from a listed origin is answered
 * (204, the origin echoed, credentials, `Vary: Origin`, only GET/POST and tRPC's headers, a max age) without
 * reaching the router; a preflight or request from any other origin gets no CORS headers; a real call from a listed
 * origin carries the headers, its refusals too; `["*"]` admits every origin without credentials; with no origins
 * configured nothing changes (an OPTIONS is still a 405). And the configuration refuses what is not an origin.
 */
import { parseConfig } from '@regstack/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { startRegstack, TEST_SECRET, type TestRegstack } from '../harness/regstack.ts';

const APP = 'https://app.example.test';
const DEV = 'http://localhost:5173';
const EVIL = 'https://evil.example.test';

function corsHeaders(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    if (name.startsWith('access-control-')) out[name] = value;
  });
  return out;
}

function preflight(url: string, origin: string, method = 'POST', headers = 'content-type, authorization') {
  return fetch(url, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
  });
}

describeEachBackend('CORS on the tRPC endpoint (issue 16 item 3)', (ctx) => {
  let t: TestRegstack;
  let server: { url: string; close(): Promise<void> };
  beforeAll(async () => {
    t = await startRegstack(ctx.url, { corsOrigins: [APP, `${DEV}/`], enableUiRouter: true });
    server = await t.regstack.listen({ port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await t?.regstack.close();
  });

  it('answers a preflight from a listed origin itself (the router would answer an OPTIONS with 405)', async () => {
    for (const origin of [APP, DEV]) {
      const res = await preflight(`${server.url}/trpc/auth.login`, origin);
      expect(res.status).toBe(204);
      expect(corsHeaders(res)).toEqual({
        'access-control-allow-origin': origin,
        'access-control-allow-credentials': 'true',
        'access-control-allow-methods': 'GET, POST',
        'access-control-allow-headers': 'authorization, content-type, trpc-accept',
        'access-control-max-age': '7200',
      });
      expect(res.headers.get('vary')).toMatch(/\bOrigin\b/);
      expect(await res.text()).toBe('');
    }
    // A batch and a trailing slash (R20's canonical path) are the same endpoint.
    const batched = await preflight(`${server.url}/trpc/auth.login,auth.account.me/?batch=1`, APP);
    expect(batched.status).toBe(204);
    expect(batched.headers.get('access-control-allow-origin')).toBe(APP);
  });

  it('gives another origin no CORS headers, on the preflight and on the call', async () => {
    for (const origin of [EVIL, 'null', `${APP}:8443`, 'http://app.example.test']) {
      const pre = await preflight(`${server.url}/trpc/auth.login`, origin);
      expect(pre.status, origin).toBe(405); // what any OPTIONS gets: regstack's endpoint takes GET and POST
      expect(corsHeaders(pre), origin).toEqual({});
      const call = await fetch(`${server.url}/trpc/auth.login`, {
        method: 'POST',
        headers: { origin, 'content-type': 'application/json' },
        body: JSON.stringify({ json: { email: 'nobody@example.com', password: 'wrong password here' } }),
      });
      expect(call.status, origin).toBe(401);
      expect(corsHeaders(call), origin).toEqual({});
      expect(call.headers.get('vary')).toMatch(/\bOrigin\b/);
    }
  });

  it('a call from a listed origin carries the headers, refusals included', async () => {
    const call = await fetch(`${server.url}/trpc/auth.login`, {
      method: 'POST',
      headers: { origin: APP, 'content-type': 'application/json' },
      body: JSON.stringify({ json: { email: 'nobody@example.com', password: 'wrong password here' } }),
    });
    expect(call.status).toBe(401);
    expect(corsHeaders(call)).toEqual({
      'access-control-allow-origin': APP,
      'access-control-allow-credentials': 'true',
      // The page may read when to retry and the request id to quote.
      'access-control-expose-headers': 'retry-after, x-request-id',
    });
    expect(call.headers.get('vary')).toMatch(/\bOrigin\b/);
    expect(call.headers.get('cache-control')).toBe('no-store');
    // A refusal before tRPC (R56: not JSON) must be readable by the page too, or it sees a network error.
    const form = await fetch(`${server.url}/trpc/auth.login`, {
      method: 'POST',
      headers: { origin: APP, 'content-type': 'text/plain' },
      body: '{}',
    });
    expect(form.status).toBe(415);
    expect(form.headers.get('access-control-allow-origin')).toBe(APP);
  });

  it('stays off the pages and /healthz', async () => {
    for (const path of ['/healthz', '/account/verify']) {
      const res = await fetch(`${server.url}${path}`, { headers: { origin: APP } });
      expect(res.status, path).toBe(200);
      expect(corsHeaders(res), path).toEqual({});
    }
    const pre = await preflight(`${server.url}/healthz`, APP, 'GET');
    expect(pre.status).toBe(405);
    expect(corsHeaders(pre)).toEqual({});
  });
});

describeEachBackend('CORS with "*" and without origins (issue 16 item 3)', (ctx) => {
  let star: TestRegstack;
  let none: TestRegstack;
  let starServer: { url: string; close(): Promise<void> };
  let noneServer: { url: string; close(): Promise<void> };
  beforeAll(async () => {
    star = await startRegstack(ctx.url, { corsOrigins: ['*'] });
    none = await startRegstack(ctx.url);
    starServer = await star.regstack.listen({ port: 0 });
    noneServer = await none.regstack.listen({ port: 0 });
  });
  afterAll(async () => {
    await starServer?.close();
    await noneServer?.close();
    await star?.regstack.close();
    await none?.regstack.close();
  });

  it('"*" admits every origin, never with credentials', async () => {
    const pre = await preflight(`${starServer.url}/trpc/auth.login`, EVIL);
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(pre.headers.get('access-control-allow-credentials')).toBeNull();
    const call = await fetch(`${starServer.url}/trpc/auth.account.me`, { headers: { origin: EVIL } });
    expect(call.status).toBe(401);
    expect(call.headers.get('access-control-allow-origin')).toBe('*');
    expect(call.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('without cors_origins nothing changes: no CORS headers, OPTIONS is a 405', async () => {
    const pre = await preflight(`${noneServer.url}/trpc/auth.login`, APP);
    expect(pre.status).toBe(405);
    expect(pre.headers.get('allow')).toBe('GET, POST');
    expect(corsHeaders(pre)).toEqual({});
    const call = await fetch(`${noneServer.url}/trpc/auth.account.me`, { headers: { origin: APP } });
    expect(corsHeaders(call)).toEqual({});
  });
});

describe('cors_origins validation (issue 16 item 3)', () => {
  const parse = (corsOrigins: string[]) => parseConfig({ jwtSecret: TEST_SECRET, corsOrigins });

  it('normalises origins to what browsers send', () => {
    expect(parse(['HTTPS://App.Example.test:443/', 'http://localhost:5173', 'http://[::1]:3000']).corsOrigins).toEqual([
      'https://app.example.test',
      'http://localhost:5173',
      'http://[::1]:3000',
    ]);
    expect(parse([]).corsOrigins).toEqual([]);
    expect(parseConfig({ jwtSecret: TEST_SECRET }).corsOrigins).toEqual([]);
  });

  it.for([
    ['https://app.example.test/path', /no path/],
    ['https://app.example.test?x=1', /no path, query/],
    ['https://*.example.test', /wildcards/],
    ['null', /sandboxed/],
    ['app.example.test', /not an origin|http/],
    ['ftp://app.example.test', /http:\/\/ or https:\/\//],
    ['https://user@app.example.test', /user name/],
  ] as const)('refuses %s', ([origin, message]) => {
    expect(() => parse([origin])).toThrow(message);
    try {
      parse([origin]);
    } catch (err) {
      expect((err as { issues: { key: string }[] }).issues[0]?.key).toMatch(/^cors_origins/);
    }
  });

  it('refuses "*" beside other origins', () => {
    expect(() => parse(['*', 'https://app.example.test'])).toThrow(/"\*" must be the only entry/);
  });
});
