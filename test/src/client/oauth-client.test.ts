/**
 * Issue 22 item 4 (client): @regstack/client's provider sign-in from Node, against a real regstack over HTTP and a
 * real OpenID provider (`oidc-provider` on loopback, its login and consent screens driven over HTTP).
 * - `oauthStartUrl` / `signInWithProvider`: the start URL from the client's endpoint and `oauthPrefix`, and a name
 *   outside the server's rule refused (OAUTH_PROVIDER_UNKNOWN) before any navigation;
 * - `completeOAuth({ url })`: `?error=CODE` becomes a typed error with that code (only a registered code), a URL
 *   with no result OAUTH_RESULT_MISSING; a real `?id=` signs the client in (reason `signed_in`, like login) and two
 *   calls for the same id make one exchange; `mfa_required` keeps the challenge so `confirmMfa()` finishes;
 * - `client.oauth.providers / link / unlink` for the signed-in owner.
 * The client's behaviour does not depend on the backend (the OIDC suites cover the server on every one): SQLite.
 */
import { randomBytes } from 'node:crypto';
import {
  type AuthChangeReason,
  createRegstackClient,
  getRegstackErrorCode,
  getRegstackErrorData,
  RegstackOAuthError,
} from '@regstack/client';
import type {
  useOAuthCompletion as useReactOAuthCompletion,
  useOAuthProviders as useReactOAuthProviders,
} from '@regstack/client/react';
import type {
  useOAuthCompletion as useVueOAuthCompletion,
  useOAuthProviders as useVueOAuthProviders,
} from '@regstack/client/vue';
import type { LoginResult } from '@regstack/shared';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { caught } from '../harness/outcomes.ts';
import { createVerifiedUser } from '../harness/regstack.ts';
import { Browser, signInAtProvider, startTestProvider, type TestProvider } from '../oauth/oidc-provider.ts';
import { type ClientStack, enrolTotpThroughClient, freePort, PASSWORD, startClientStack } from './support.ts';

describe('client: provider sign-in types (issue 22 item 4)', () => {
  it('completeOAuth answers exactly what login answers; the helpers carry the providers type', () => {
    type Client = ReturnType<typeof createRegstackClient>;
    type Providers = { providers: { name: string; linked: boolean; email: string | null }[] };
    expectTypeOf<Awaited<ReturnType<Client['completeOAuth']>>>().toEqualTypeOf<LoginResult>();
    expectTypeOf<Awaited<ReturnType<Client['login']>>>().toEqualTypeOf<LoginResult>();
    expectTypeOf<Awaited<ReturnType<Client['oauth']['providers']>>>().toEqualTypeOf<Providers>();
    expectTypeOf<ReturnType<typeof useReactOAuthProviders>['data']>().toEqualTypeOf<Providers | undefined>();
    expectTypeOf<ReturnType<typeof useVueOAuthProviders>['data']['value']>().toEqualTypeOf<Providers | undefined>();
    type Status = 'pending' | 'signed-in' | 'mfa_required' | 'error';
    expectTypeOf<ReturnType<typeof useReactOAuthCompletion>['status']>().toEqualTypeOf<Status>();
    expectTypeOf<ReturnType<typeof useVueOAuthCompletion>['status']['value']>().toEqualTypeOf<Status>();
  });
});

describe('client: provider sign-in URLs and results without a server (issue 22 item 4)', () => {
  it('builds the start URL on the endpoint origin under /oauth, with redirect_to encoded', () => {
    const client = createRegstackClient({ url: 'https://api.example.test/trpc' });
    expect(client.oauthStartUrl('google')).toBe('https://api.example.test/oauth/google/start');
    expect(client.oauthStartUrl('corp_sso2', { redirectTo: '/done?x=1&y=2' })).toBe(
      'https://api.example.test/oauth/corp_sso2/start?redirect_to=%2Fdone%3Fx%3D1%26y%3D2',
    );
  });

  it('takes the server oauth_prefix: a path on the endpoint origin, or a full URL', () => {
    const onPath = createRegstackClient({ url: 'https://api.example.test/v1/trpc', oauthPrefix: '/accounts/oauth/' });
    expect(onPath.oauthStartUrl('google')).toBe('https://api.example.test/accounts/oauth/google/start');
    const elsewhere = createRegstackClient({ url: '/trpc', oauthPrefix: 'https://id.example.test/sso' });
    expect(elsewhere.oauthStartUrl('google')).toBe('https://id.example.test/sso/google/start');
  });

  it('a relative endpoint with no page to resolve it against: a clear error', () => {
    const client = createRegstackClient({ url: '/trpc' });
    expect(() => client.oauthStartUrl('google')).toThrow(/relative.*absolute url/);
  });

  it('signInWithProvider navigates to the start URL; a name outside the rule is refused before navigating', () => {
    const visited: string[] = [];
    const client = createRegstackClient({ url: 'http://127.0.0.1:9/trpc', navigate: (url) => visited.push(url) });
    client.signInWithProvider('test', { redirectTo: '/home' });
    expect(visited).toEqual(['http://127.0.0.1:9/oauth/test/start?redirect_to=%2Fhome']);
    for (const name of ['Google', 'a-b', '../admin', 'x/start', '_x', 'a__b', '9a', '', 'a'.repeat(65)]) {
      const err = (() => {
        try {
          client.signInWithProvider(name);
        } catch (e) {
          return e;
        }
        return null;
      })();
      expect(err, name).toBeInstanceOf(RegstackOAuthError);
      expect(getRegstackErrorCode(err)).toBe('OAUTH_PROVIDER_UNKNOWN');
    }
    expect(visited).toHaveLength(1);
  });

  it('?error=CODE rejects with that stable code; an unregistered value or no result is OAUTH_RESULT_MISSING', async () => {
    const client = createRegstackClient({ url: 'http://127.0.0.1:9/trpc' });
    const landed = await caught(
      client.completeOAuth({ url: 'https://app.example.test/done?error=OAUTH_ACCOUNT_EXISTS' }),
    );
    expect(RegstackOAuthError.is(landed)).toBe(true);
    expect(getRegstackErrorCode(landed)).toBe('OAUTH_ACCOUNT_EXISTS');
    expect(getRegstackErrorData(landed)).toEqual({ regstackCode: 'OAUTH_ACCOUNT_EXISTS' });
    for (const url of [
      'https://app.example.test/done?error=%3Cscript%3E',
      'https://app.example.test/done?error=toString',
      'https://app.example.test/done',
      'https://app.example.test/done?id=',
    ]) {
      expect(getRegstackErrorCode(await caught(client.completeOAuth({ url }))), url).toBe('OAUTH_RESULT_MISSING');
    }
    // Outside a browser the page's own URL does not exist.
    expect(await caught(client.completeOAuth())).toBeInstanceOf(TypeError);
  });
});

describe('client: provider sign-in against regstack and a real OpenID provider (issue 22 item 4)', () => {
  let op: TestProvider;
  let stack: ClientStack;
  let base: string;
  let server: { close(): Promise<void> };
  const unique = randomBytes(4).toString('hex');
  const mail = (name: string) => `${name}-${unique}@example.com`;

  beforeAll(async () => {
    op = await startTestProvider();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const test = op.clientFor(base);
    stack = await startClientStack({
      baseUrl: base,
      enableOauth: true,
      oauthExchangeRateLimit: '1000/minute',
      oauth: { providers: { test }, autoLinkVerifiedEmails: true },
    });
    server = await stack.regstack.listen({ port });
  });
  afterAll(async () => {
    await server?.close();
    await stack?.close();
    await op?.close();
  });

  /**
   * What a browser does between `navigate(start)` and landing: regstack's start route, the provider's screens, then
   * regstack's callback. regstack's cookies go back to it as a browser's would (the sign-in is bound to the browser
   * that started it, issue 22).
   */
  async function land(start: string, account: string, browser = new Browser()): Promise<string> {
    const authorization = await browser.follow(start);
    expect(authorization.origin).toBe(op.issuer);
    const callback = await signInAtProvider(authorization.href, account);
    return (await browser.follow(callback)).href;
  }

  function browserless() {
    const visited: string[] = [];
    const client = createRegstackClient({ url: `${base}/trpc`, navigate: (url) => visited.push(url) });
    const reasons: AuthChangeReason[] = [];
    client.onAuthChange((_state, reason) => reasons.push(reason));
    return { client, visited, reasons };
  }

  it('signs in: one exchange for two calls with the same id, stored like a login (reason signed_in)', async () => {
    op.accounts.set(`new-${unique}`, { email: mail('new'), emailVerified: true, name: 'New Person' });
    const { client, visited, reasons } = browserless();
    client.signInWithProvider('test', { redirectTo: '/welcome' });
    const landing = await land(visited[0] ?? '', `new-${unique}`);
    expect(landing).toMatch(new RegExp(`^${base}/welcome\\?id=`));

    // React StrictMode runs the landing effect twice: both calls share one exchange (a second would be refused).
    const [first, second] = await Promise.all([
      client.completeOAuth({ url: landing }),
      client.completeOAuth({ url: landing }),
    ]);
    expect(first.status).toBe('authenticated');
    expect(second).toBe(first);
    const third = await client.completeOAuth({ url: landing });
    expect(third).toBe(first);
    expect(client.getUser()?.email).toBe(mail('new'));
    expect(reasons.filter((r) => r === 'signed_in')).toHaveLength(1);
    expect((await client.me()).email).toBe(mail('new'));

    // The id was used once: another client (no shared memo) is refused by the server.
    const other = createRegstackClient({ url: `${base}/trpc` });
    expect(getRegstackErrorCode(await caught(other.completeOAuth({ url: landing })))).toBe('OAUTH_EXCHANGE_INVALID');
    expect(other.getUser()).toBeNull();
  });

  it('a refused sign-in lands with ?error=: the typed error carries the server code', async () => {
    op.accounts.set(`unvouched-${unique}`, { email: mail('unvouched'), emailVerified: false });
    const { client, visited } = browserless();
    client.signInWithProvider('test');
    const landing = await land(visited[0] ?? '', `unvouched-${unique}`);
    expect(new URL(landing).searchParams.get('error')).toBe('OAUTH_EMAIL_NOT_VERIFIED');
    const err = await caught(client.completeOAuth({ url: landing }));
    expect(getRegstackErrorCode(err)).toBe('OAUTH_EMAIL_NOT_VERIFIED');
    expect(client.getUser()).toBeNull();
  });

  it('a user with a second factor: mfa_required stores nothing, confirmMfa() finishes the sign-in', async () => {
    const { email } = await createVerifiedUser(stack, mail('mfa'), PASSWORD);
    const { code } = await enrolTotpThroughClient(`${base}/trpc`, email);

    op.accounts.set(`mfa-${unique}`, { email, emailVerified: true });
    const { client, visited } = browserless();
    client.signInWithProvider('test');
    const result = await client.completeOAuth({ url: await land(visited[0] ?? '', `mfa-${unique}`) });
    expect(result.status).toBe('mfa_required');
    expect(await client.getAccessToken()).toBeNull();
    expect(client.getMfaChallenge()?.methods).toContain('totp');
    const done = await client.confirmMfa({ method: 'totp', code: code() });
    expect(done.status).toBe('authenticated');
    expect((await client.me()).email).toBe(email);
  });

  it('providers, link and unlink for the signed-in owner', async () => {
    const { email } = await createVerifiedUser(stack, mail('owner'), PASSWORD);
    const { client, visited } = browserless();
    expect(await client.oauth.providers()).toEqual({ providers: [{ name: 'test', linked: false, email: null }] });
    await client.login({ email, password: PASSWORD });
    // The provider account has another address: only an explicit link by the signed-in owner attaches it.
    op.accounts.set(`linked-${unique}`, { email: mail('elsewhere'), emailVerified: true });
    await client.oauth.link('test', { redirectTo: '/settings' });
    expect(visited).toHaveLength(1);
    // Sent to regstack's own start route with the one-time link ticket, not straight to the provider: the browser
    // that follows it gets the binding cookie there (land() checks it then goes on to the provider).
    const linkUrl = new URL(visited[0] ?? '');
    expect(`${linkUrl.origin}${linkUrl.pathname}`).toBe(`${base}/oauth/test/start`);
    expect(linkUrl.searchParams.get('link')).toMatch(/^[\w-]{16,}$/);
    const landing = await land(visited[0] ?? '', `linked-${unique}`);
    expect(landing).toBe(`${base}/settings?linked=test`);
    expect(await client.oauth.providers()).toEqual({
      providers: [{ name: 'test', linked: true, email: mail('elsewhere') }],
    });
    expect(await client.oauth.unlink('test')).toEqual({ status: 'unlinked' });
    expect((await client.oauth.providers()).providers[0]?.linked).toBe(false);
    expect(getRegstackErrorCode(await caught(client.oauth.unlink('test')))).toBe('OAUTH_NOT_LINKED');
  });
});
