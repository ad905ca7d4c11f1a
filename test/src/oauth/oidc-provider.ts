import { randomBytes } from 'node:crypto';
/**
 * A real, certified OpenID Provider for the OAuth suites (npm `oidc-provider`) on loopback, with one confidential
 * client per test regstack and accounts the tests write into `accounts`. Its own login and consent screens are
 * driven over HTTP like a browser would: follow the redirects with a cookie jar, read each form's `action`, post it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

export interface TestAccount {
  email?: string;
  emailVerified?: boolean;
  name?: string;
}

export interface TestProvider {
  issuer: string;
  accounts: Map<string, TestAccount>;
  /** Registers a client whose redirect URI is `redirectUri`. */
  addClient(clientId: string, clientSecret: string, redirectUris: string[]): void;
  /**
   * Registers a client for a regstack at `base` whose provider is named `name` (`test` by default; callback
   * `{base}{prefix}/{name}/callback`, prefix `/oauth` by default); returns that provider's config.
   */
  clientFor(base: string, options?: { prefix?: string; clientId?: string; name?: string }): TestProviderConfig;
  close(): Promise<void>;
}

/** `[oauth.providers.test]` of a regstack signing in at the test provider. */
export interface TestProviderConfig {
  issuer: string;
  clientId: string;
  clientSecret: string;
}

export async function startTestProvider(): Promise<TestProvider> {
  const accounts = new Map<string, TestAccount>();
  const clients: { client_id: string; client_secret: string; redirect_uris: string[] }[] = [];
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };

  // The port first: the issuer URL is part of the provider's configuration.
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const provider = new Provider(issuer, {
    clients: [],
    // Clients are looked up through the adapter below, so tests can add one per regstack instance.
    adapter: memoryAdapter(clients),
    jwks: { keys: [jwk] },
    cookies: { keys: ['test-cookie-key-0123456789abcdef'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // The claims in the ID token itself, as Google does (regstack reads the ID token, not userinfo).
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    ttl: { AccessToken: 600, AuthorizationCode: 60, Grant: 3600, IdToken: 600, Interaction: 600, Session: 3600 },
    async findAccount(_ctx, id) {
      const account = accounts.get(id);
      if (!account) return undefined;
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            ...(account.email !== undefined && { email: account.email }),
            ...(account.emailVerified !== undefined && { email_verified: account.emailVerified }),
            ...(account.name !== undefined && { name: account.name }),
          };
        },
      };
    },
  });
  server.on('request', provider.callback());

  return {
    issuer,
    accounts,
    addClient(clientId, clientSecret, redirectUris) {
      clients.push({ client_id: clientId, client_secret: clientSecret, redirect_uris: redirectUris });
    },
    clientFor(base, options = {}) {
      const clientId = options.clientId ?? `regstack-${randomBytes(4).toString('hex')}`;
      const clientSecret = randomBytes(24).toString('base64url');
      const redirectUri = `${base}${options.prefix ?? '/oauth'}/${options.name ?? 'test'}/callback`;
      clients.push({ client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri] });
      return { issuer, clientId, clientSecret };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** oidc-provider's storage: models in memory, and clients from the list the tests add to. */
function memoryAdapter(clients: { client_id: string; client_secret: string; redirect_uris: string[] }[]) {
  const store = new Map<string, Map<string, unknown>>();
  return class MemoryAdapter {
    readonly name: string;
    constructor(name: string) {
      this.name = name;
    }
    #rows(): Map<string, unknown> {
      const rows = store.get(this.name) ?? new Map<string, unknown>();
      store.set(this.name, rows);
      return rows;
    }
    async upsert(id: string, payload: unknown) {
      this.#rows().set(id, payload);
    }
    async find(id: string) {
      if (this.name === 'Client') {
        const client = clients.find((c) => c.client_id === id);
        return client && { ...client, grant_types: ['authorization_code'], response_types: ['code'] };
      }
      return this.#rows().get(id);
    }
    async findByUid(uid: string) {
      for (const payload of this.#rows().values()) {
        if ((payload as { uid?: string }).uid === uid) return payload;
      }
      return undefined;
    }
    async findByUserCode() {
      return undefined;
    }
    async consume(id: string) {
      const payload = this.#rows().get(id) as Record<string, unknown> | undefined;
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string) {
      this.#rows().delete(id);
    }
    async revokeByGrantId(grantId: string) {
      for (const [id, payload] of this.#rows()) {
        if ((payload as { grantId?: string }).grantId === grantId) this.#rows().delete(id);
      }
    }
  };
}

/** A browser's cookie jar, enough for one origin at a time (every cookie is sent back everywhere). */
export class CookieJar {
  readonly #cookies = new Map<string, string>();
  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      if (at > 0) this.#cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
  }
  header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

/**
 * A browser at regstack: follows no redirect, and keeps regstack's cookies (the sign-in binding cookie) the way a
 * real one does, so each `Browser` is one user agent and two of them are two people.
 */
export class Browser {
  readonly jar = new CookieJar();
  async get(url: string | URL): Promise<Response> {
    const response = await fetch(url, { redirect: 'manual', headers: { cookie: this.jar.header() } });
    this.jar.store(response);
    return response;
  }
  /** GET `url`, expect a 302, and answer where it points. */
  async follow(url: string | URL): Promise<URL> {
    const response = await this.get(url);
    if (response.status !== 302) throw new Error(`expected a 302 from ${url}, got ${response.status}`);
    return new URL(response.headers.get('location') ?? '', url);
  }
}

/**
 * Signs `accountId` in at the provider from its authorization URL: login form, consent form, and back. Returns the
 * URL the provider finally redirected to (regstack's callback with `code`, `state`, `iss`), without visiting it.
 */
export async function signInAtProvider(authorizationUrl: string, accountId: string): Promise<URL> {
  const jar = new CookieJar();
  let url = new URL(authorizationUrl);
  const origin = url.origin;
  let body: URLSearchParams | undefined;
  for (let hop = 0; hop < 20; hop++) {
    const response = await fetch(url, {
      method: body ? 'POST' : 'GET',
      redirect: 'manual',
      headers: { cookie: jar.header(), ...(body && { 'content-type': 'application/x-www-form-urlencoded' }) },
      ...(body && { body }),
    });
    jar.store(response);
    body = undefined;
    const location = response.headers.get('location');
    if (location) {
      const next = new URL(location, url);
      if (next.origin !== origin) return next; // back to the relying party
      url = next;
      continue;
    }
    const html = await response.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
    if (!action || !prompt) throw new Error(`provider page without a form (${response.status}): ${html.slice(0, 300)}`);
    url = new URL(action.replace(/&amp;/g, '&'), url);
    body = new URLSearchParams(prompt === 'login' ? { prompt, login: accountId, password: 'any' } : { prompt });
  }
  throw new Error('too many redirects at the provider');
}
