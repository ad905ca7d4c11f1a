/**
 * Issue 20, "every config key honest": the OpenID Connect keys, on every backend, through regstack's real HTTP routes
 * against a real provider (`oidc-provider` on loopback, test/src/oauth/oidc-provider.ts): `oauth_prefix`,
 * `oauth_exchange_rate_limit`, a provider's `scopes`, and the lifetimes of a started sign-in and of its completion
 * id (on a manual clock). Each sets a non-default value and observes what the default would not do.
 *
 * The presets' keys — the Microsoft `tenant` and the Python regstack's `google_client_id` / `google_client_secret` —
 * name Microsoft's and Google's own servers, which a test cannot reach: their requests are routed (this process's
 * `fetch`, by host name only) to a loopback server that answers discovery for the issuer asked for and records the
 * authorization and token requests, so the test sees which issuer URL, client id and secret regstack really used.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createManualClock, type RegstackConfigInput } from '@regstack/server';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { freePort } from '../harness/ferretdb.ts';
import { codeOf } from '../harness/outcomes.ts';
import { startRegstack, type TestRegstack } from '../harness/regstack.ts';
import { Browser, signInAtProvider, startTestProvider, type TestProvider } from '../oauth/oidc-provider.ts';

describeEachBackend('config keys of OpenID Connect sign-in (issue 20)', (ctx) => {
  let op: TestProvider;
  let t: TestRegstack | undefined;
  let closeServer: (() => Promise<void>) | undefined;
  const unique = randomBytes(4).toString('hex');
  const mail = (name: string) => `${name}-${unique}@example.com`;

  beforeAll(async () => {
    op = await startTestProvider();
  });
  afterAll(async () => {
    await op?.close();
  });
  afterEach(async () => {
    await closeServer?.();
    closeServer = undefined;
    await t?.regstack.close();
    t = undefined;
  });

  /** A regstack with the `test` provider, listening on loopback; `provider` adds to its `[oauth.providers.test]`. */
  const start = async (
    overrides: RegstackConfigInput & { provider?: { scopes?: string[] }; prefix?: string },
    clock?: ReturnType<typeof createManualClock>,
  ) => {
    const { provider, prefix = '/oauth', ...rest } = overrides;
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const test = op.clientFor(base, { prefix });
    t = await startRegstack(
      ctx.url,
      {
        baseUrl: base,
        enableOauth: true,
        loginRateLimit: 'none',
        oauthExchangeRateLimit: 'none',
        ...rest,
        oauth: { ...rest.oauth, providers: { test: { ...test, ...provider } } },
      },
      clock ? { clock } : {},
    );
    const server = await t.regstack.listen({ port });
    closeServer = () => server.close();
    return base;
  };

  /**
   * GET …/start in `browser`: the provider's authorization URL regstack redirects to. The browser keeps the sign-in
   * binding cookie `start` sets (issue 22), which the callback requires.
   */
  const begin = (startUrl: string, browser = new Browser()) => browser.follow(startUrl);
  /**
   * The provider's screens as `account`, then regstack's callback in the `browser` that began the sign-in: the URL
   * regstack sends the browser back to.
   */
  const finish = async (authorizationUrl: URL, account: string, browser: Browser) => {
    const callback = await signInAtProvider(authorizationUrl.href, account);
    return browser.follow(callback);
  };
  const exchange = (id: string) => t!.regstack.createCaller().oauth.exchange({ id });

  it('oauth_prefix moves the sign-in routes and the registered callback with them', async () => {
    const base = await start({ oauthPrefix: '/sso', prefix: '/sso' });
    // The default would be /oauth/test/start.
    expect((await fetch(`${base}/oauth/test/start`, { redirect: 'manual' })).status).toBe(404);
    const browser = new Browser();
    const authorization = await begin(`${base}/sso/test/start`, browser);
    expect(authorization.searchParams.get('redirect_uri')).toBe(`${base}/sso/test/callback`);
    op.accounts.set(`prefixed-${unique}`, { email: mail('prefixed'), emailVerified: true });
    const back = await finish(authorization, `prefixed-${unique}`, browser);
    expect(back.searchParams.get('error')).toBeNull();
    expect((await exchange(back.searchParams.get('id') ?? '')).status).toBe('authenticated');
  });

  it('oauth_exchange_rate_limit caps exchanges and sign-in starts per client', async () => {
    const base = await start({ oauthExchangeRateLimit: '2/minute' });
    const caller = t!.regstack.createCaller({ ip: '198.51.100.20' });
    const outcomes: Array<string | undefined> = [];
    for (let i = 0; i < 3; i++)
      outcomes.push(await codeOf(caller.oauth.exchange({ id: randomBytes(32).toString('base64url') })));
    // The default (20 a minute) would answer all three as unknown ids.
    expect(outcomes).toEqual(['OAUTH_EXCHANGE_INVALID', 'OAUTH_EXCHANGE_INVALID', 'RATE_LIMITED']);
    // Starting a sign-in counts under the same limit, per client (here the loopback address).
    const starts: URL[] = [];
    for (let i = 0; i < 3; i++) starts.push(await begin(`${base}/oauth/test/start`));
    expect(starts.slice(0, 2).map((url) => url.origin)).toEqual([op.issuer, op.issuer]);
    // The third is sent back to the app with the refusal instead of to the provider.
    expect(starts[2]?.origin).toBe(base);
    expect(starts[2]?.searchParams.get('error')).toBe('RATE_LIMITED');
  });

  it('oauth.providers.<name>.scopes is what the authorization request asks for and the ID token grants', async () => {
    const base = await start({ provider: { scopes: ['email'] } });
    const browser = new Browser();
    const authorization = await begin(`${base}/oauth/test/start`, browser);
    // `openid` is always added; the default would also ask for `profile`.
    expect(authorization.searchParams.get('scope')).toBe('openid email');
    op.accounts.set(`scoped-${unique}`, { email: mail('scoped'), emailVerified: true, name: 'Scoped Person' });
    const back = await finish(authorization, `scoped-${unique}`, browser);
    expect(back.searchParams.get('error')).toBeNull();
    const result = await exchange(back.searchParams.get('id') ?? '');
    if (result.status !== 'authenticated') throw new Error('expected a session');
    // Without `profile` the provider grants no `name`: the account is made without one.
    expect(result.user.email).toBe(mail('scoped'));
    expect(result.user.fullName).toBeNull();
  });

  it('oauth.state_ttl_seconds ends a started sign-in at its lifetime', async () => {
    const clock = createManualClock();
    const base = await start({ oauth: { stateTtlSeconds: 60 } }, clock);
    op.accounts.set(`slow-${unique}`, { email: mail('slow'), emailVerified: true });
    // Two people's sign-ins, each in its own browser.
    const [earlyBrowser, lateBrowser] = [new Browser(), new Browser()];
    const early = await begin(`${base}/oauth/test/start`, earlyBrowser);
    const late = await begin(`${base}/oauth/test/start`, lateBrowser);
    clock.advance(59_000);
    expect((await finish(early, `slow-${unique}`, earlyBrowser)).searchParams.get('error')).toBeNull();
    // Past 60 s, far inside the default 300 s.
    clock.advance(2_000);
    expect((await finish(late, `slow-${unique}`, lateBrowser)).searchParams.get('error')).toBe('OAUTH_STATE_INVALID');
  });

  it('oauth.completion_ttl_seconds ends the one-time completion id at its lifetime', async () => {
    const clock = createManualClock();
    const base = await start({ oauth: { completionTtlSeconds: 5 } }, clock);
    op.accounts.set(`done-${unique}`, { email: mail('done'), emailVerified: true });
    const completionId = async () => {
      const browser = new Browser();
      const back = await finish(await begin(`${base}/oauth/test/start`, browser), `done-${unique}`, browser);
      expect(back.searchParams.get('error')).toBeNull();
      return back.searchParams.get('id');
    };
    const first = await completionId();
    const second = await completionId();
    clock.advance(4_000);
    expect((await exchange(first ?? '')).status).toBe('authenticated');
    // Past 5 s, far inside the default 30 s.
    clock.advance(2_000);
    expect(await codeOf(exchange(second ?? ''))).toBe('OAUTH_EXCHANGE_INVALID');
  });
});

// ── The presets: Microsoft's tenant and the Python regstack's Google keys ─────────────────────────────────────

interface Seen {
  host: string;
  path: string;
  body: string;
}

/**
 * Stands in for Google's and Microsoft's servers: answers discovery for whatever issuer is asked for (the host and
 * path the request was for), records every request, and refuses every code at the token endpoint (invalid_grant) —
 * enough to see the issuer URL, client id and secret regstack uses, which is all these keys decide.
 */
async function startPresetServer(): Promise<{ origin: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const read = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };
  const server: Server = createServer(async (req, res) => {
    const host = String(req.headers['x-forwarded-host'] ?? '');
    const path = req.url ?? '';
    seen.push({ host, path, body: await read(req) });
    const discovery = /^(.*)\/\.well-known\/openid-configuration$/.exec(path);
    if (discovery) {
      const issuer = `https://${host}${discovery[1]}`;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/keys`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
        }),
      );
      return;
    }
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'invalid_grant' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const PRESET_HOSTS = new Set(['accounts.google.com', 'login.microsoftonline.com']);

describeEachBackend('config keys of the OpenID Connect presets (issue 20)', (ctx) => {
  let presets: Awaited<ReturnType<typeof startPresetServer>>;
  let t: TestRegstack | undefined;
  let closeServer: (() => Promise<void>) | undefined;
  const realFetch = globalThis.fetch;

  beforeAll(async () => {
    presets = await startPresetServer();
    // Only the two providers' host names are routed to loopback; everything else goes out unchanged.
    globalThis.fetch = (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (!PRESET_HOSTS.has(url.hostname)) return realFetch(input, init);
      const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
      headers.set('x-forwarded-host', url.host);
      return realFetch(`${presets.origin}${url.pathname}${url.search}`, { ...init, headers });
    };
  });
  afterAll(async () => {
    globalThis.fetch = realFetch;
    await presets?.close();
  });
  afterEach(async () => {
    await closeServer?.();
    closeServer = undefined;
    await t?.regstack.close();
    t = undefined;
    presets.seen.length = 0;
  });

  const start = async (oauth: NonNullable<RegstackConfigInput['oauth']>) => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    t = await startRegstack(ctx.url, { baseUrl: base, enableOauth: true, oauthExchangeRateLimit: 'none', oauth });
    const server = await t.regstack.listen({ port });
    closeServer = () => server.close();
    return base;
  };
  /** GET …/start in `browser` (which keeps the sign-in binding cookie): the provider's authorization URL. */
  const begin = (startUrl: string, browser = new Browser()) => browser.follow(startUrl);

  it('oauth.providers.<name>.tenant builds the Microsoft issuer the sign-in discovers and goes to', async () => {
    const tenant = 'contoso.onmicrosoft.com';
    const base = await start({ providers: { microsoft: { clientId: 'entra-app', tenant } } });
    const authorization = await begin(`${base}/oauth/microsoft/start`);
    expect(presets.seen[0]).toMatchObject({
      host: 'login.microsoftonline.com',
      path: `/${tenant}/v2.0/.well-known/openid-configuration`,
    });
    expect(`${authorization.origin}${authorization.pathname}`).toBe(
      `https://login.microsoftonline.com/${tenant}/v2.0/authorize`,
    );
    expect(authorization.searchParams.get('client_id')).toBe('entra-app');
  });

  it('oauth.google_client_id and oauth.google_client_secret alone configure the Google sign-in', async () => {
    const secret = randomBytes(18).toString('base64url');
    const base = await start({ googleClientId: 'python-style.apps.googleusercontent.com', googleClientSecret: secret });
    const browser = new Browser();
    const authorization = await begin(`${base}/oauth/google/start`, browser);
    expect(presets.seen[0]).toMatchObject({ host: 'accounts.google.com', path: '/.well-known/openid-configuration' });
    expect(`${authorization.origin}${authorization.pathname}`).toBe('https://accounts.google.com/authorize');
    expect(authorization.searchParams.get('client_id')).toBe('python-style.apps.googleusercontent.com');
    expect(authorization.searchParams.get('redirect_uri')).toBe(`${base}/oauth/google/callback`);
    // Google sends the same browser back with a code; regstack redeems it at the token endpoint with the secret.
    const state = authorization.searchParams.get('state') ?? '';
    const back = await browser.follow(`${base}/oauth/google/callback?code=a-code&state=${encodeURIComponent(state)}`);
    const token = presets.seen.find((s) => s.path === '/token');
    const form = new URLSearchParams(token?.body ?? '');
    expect(token?.host).toBe('accounts.google.com');
    expect(form.get('client_id')).toBe('python-style.apps.googleusercontent.com');
    expect(form.get('client_secret')).toBe(secret);
    expect(form.get('code')).toBe('a-code');
    // This stand-in refuses every code, so the sign-in ends in a clean refusal.
    expect(back.searchParams.get('error')).toBe('OAUTH_TOKEN_INVALID');
  });
});
