/**
 * Issue 22, the attacks, on every backend, over regstack's real HTTP routes: a replayed, foreign, missing or
 * made-up `state`; an authorization code used twice; ID tokens with a wrong or missing `nonce`, for another
 * audience or issuer, expired, `alg: none`, HS256 keyed with the public key, or signed by another key (from a
 * hand-rolled issuer, forged-issuer.ts — the real provider never issues those); open `redirect_to` values; an
 * `exchange` id used twice or after its TTL. Each is refused with a stable code, and nothing is signed in.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { freePort } from '../harness/ferretdb.ts';
import { codeOf } from '../harness/outcomes.ts';
import { startRegstack, type TestRegstack } from '../harness/regstack.ts';
import { type ForgedIssuer, type Forgery, startForgedIssuer } from './forged-issuer.ts';
import { Browser, signInAtProvider, startTestProvider, type TestProvider } from './oidc-provider.ts';

describeEachBackend('OpenID Connect sign-in attacks (issue 22)', (ctx) => {
  let op: TestProvider;
  let forged: ForgedIssuer;
  let t: TestRegstack;
  let later: TestRegstack;
  let base: string;
  let close: (() => Promise<void>) | undefined;
  const unique = randomBytes(4).toString('hex');
  const clientId = `regstack-${unique}`;

  beforeAll(async () => {
    [op, forged] = await Promise.all([startTestProvider(), startForgedIssuer()]);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const { clientSecret } = op.clientFor(base, { clientId });
    forged.next.clientId = clientId;
    const config = {
      baseUrl: base,
      enableOauth: true,
      oauthExchangeRateLimit: '1000/minute',
      oauth: {
        providers: {
          test: { issuer: op.issuer, clientId, clientSecret },
          forged: { issuer: forged.issuer, clientId, clientSecret },
        },
        allowedRedirects: ['https://app.example.test'],
      },
    };
    t = await startRegstack(ctx.url, config);
    // The same deployment a little later than the exchange TTL (another instance on the same database).
    later = await startRegstack(ctx.url, config, { clock: { now: () => new Date(Date.now() + 31_000) } });
    const server = await t.regstack.listen({ port });
    close = () => server.close();
  });
  afterAll(async () => {
    await close?.();
    await t?.regstack.close();
    await later?.regstack.close();
    await Promise.all([op?.close(), forged?.close()]);
  });

  // One browser for the whole suite: each sign-in here is bound to it (the binding has its own suite).
  const browser = new Browser();
  const get = (url: string | URL) => browser.follow(url);

  /** Start at the real provider, sign in there, and return the callback URL without visiting it. */
  async function providerCallback(account: string): Promise<URL> {
    op.accounts.set(account, { email: `${account}@example.com`, emailVerified: true });
    const started = await get(`${base}/oauth/test/start`);
    return signInAtProvider(started.href, account);
  }

  it('a replayed state is refused, and so are a foreign, a missing and a made-up one', async () => {
    const callback = await providerCallback(`replay-${unique}`);
    // A state made for the real provider, brought to another provider's callback (a mix-up).
    const foreign = new URL(callback);
    foreign.pathname = '/oauth/forged/callback';
    expect((await get(foreign)).searchParams.get('error')).toBe('OAUTH_STATE_INVALID');
    // Taken by the foreign attempt: single use means the real callback now fails too.
    expect((await get(callback)).searchParams.get('error')).toBe('OAUTH_STATE_INVALID');

    const fresh = await providerCallback(`replay2-${unique}`);
    expect((await get(fresh)).searchParams.get('id')).toBeTruthy();
    expect((await get(fresh)).searchParams.get('error')).toBe('OAUTH_STATE_INVALID');

    const missing = new URL(fresh);
    missing.searchParams.delete('state');
    expect((await get(missing)).searchParams.get('error')).toBe('OAUTH_STATE_INVALID');
    const madeUp = new URL(fresh);
    madeUp.searchParams.set('state', randomBytes(32).toString('base64url'));
    expect((await get(madeUp)).searchParams.get('error')).toBe('OAUTH_STATE_INVALID');
  });

  it('an authorization code is good once: brought back under another started sign-in it is refused', async () => {
    const callback = await providerCallback(`code-${unique}`);
    // The other sign-in in a second browser, which then brings the code back with its own state.
    const second = new Browser();
    const other = await second.follow(`${base}/oauth/test/start`);
    expect((await get(callback)).searchParams.get('id')).toBeTruthy();
    const replay = new URL(callback);
    replay.searchParams.set('state', other.searchParams.get('state') ?? '');
    expect((await second.follow(replay)).searchParams.get('error')).toBe('OAUTH_TOKEN_INVALID');
  });

  async function forgedSignIn(forgery: Forgery): Promise<URL> {
    const authorize = await get(`${base}/oauth/forged/start`);
    expect(authorize.origin).toBe(forged.issuer);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    forged.next = {
      ...forged.next,
      forgery,
      nonce: authorize.searchParams.get('nonce') ?? '',
      subject: `forged-${forgery}-${unique}`,
      email: `forged-${forgery}-${unique}@example.com`,
    };
    const state = authorize.searchParams.get('state') ?? '';
    return get(`${base}/oauth/forged/callback?code=any-code&state=${encodeURIComponent(state)}`);
  }

  it('the hand-rolled issuer is trusted when its ID token is right (the control for the forgeries below)', async () => {
    const back = await forgedSignIn('good');
    expect(back.searchParams.get('error')).toBeNull();
    const result = await t.regstack.createCaller().oauth.exchange({ id: back.searchParams.get('id') ?? '' });
    expect(result.status).toBe('authenticated');
  });

  for (const forgery of [
    'wrong_nonce',
    'no_nonce',
    'other_audience',
    'other_issuer',
    'expired',
    'alg_none',
    'hs256_public_key',
    'other_key',
  ] as const) {
    it(`an ID token with ${forgery.replace(/_/g, ' ')} is refused with OAUTH_TOKEN_INVALID`, async () => {
      const back = await forgedSignIn(forgery);
      expect(back.searchParams.get('error')).toBe('OAUTH_TOKEN_INVALID');
      expect(back.searchParams.get('id')).toBeNull();
    });
  }

  it('an open redirect_to is refused before anything is stored; a relative path or an allowed origin is kept', async () => {
    for (const evil of ['//evil.example', 'https://evil.example', '/\\evil.example', 'javascript:alert(1)']) {
      const back = await get(`${base}/oauth/test/start?redirect_to=${encodeURIComponent(evil)}`);
      expect(back.origin, evil).toBe(base);
      expect(back.pathname, evil).toBe('/oauth-complete');
      expect(back.searchParams.get('error'), evil).toBe('OAUTH_REDIRECT_NOT_ALLOWED');
    }
    for (const fine of ['/after/signin', 'https://app.example.test/done']) {
      const to = await get(`${base}/oauth/test/start?redirect_to=${encodeURIComponent(fine)}`);
      expect(to.origin, fine).toBe(op.issuer);
    }
    op.accounts.set(`allowed-${unique}`, { email: `allowed-${unique}@example.com`, emailVerified: true });
    const started = await get(
      `${base}/oauth/test/start?redirect_to=${encodeURIComponent('https://app.example.test/done')}`,
    );
    const back = await get(await signInAtProvider(started.href, `allowed-${unique}`));
    expect(`${back.origin}${back.pathname}`).toBe('https://app.example.test/done');
    expect(back.searchParams.get('id')).toBeTruthy();
  });

  it('an exchange id is good once and only within its TTL', async () => {
    const once = (await get(await providerCallback(`once-${unique}`))).searchParams.get('id') ?? '';
    expect((await t.regstack.createCaller().oauth.exchange({ id: once })).status).toBe('authenticated');
    expect(await codeOf(t.regstack.createCaller().oauth.exchange({ id: once }))).toBe('OAUTH_EXCHANGE_INVALID');

    const stale = (await get(await providerCallback(`stale-${unique}`))).searchParams.get('id') ?? '';
    expect(await codeOf(later.regstack.createCaller().oauth.exchange({ id: stale }))).toBe('OAUTH_EXCHANGE_INVALID');
    expect(await codeOf(t.regstack.createCaller().oauth.exchange({ id: randomBytes(32).toString('base64url') }))).toBe(
      'OAUTH_EXCHANGE_INVALID',
    );
  });
});
