/**
 * `createRegstackClient()` — the typed SDK. One object holds a tRPC client for the whole root router
 * (`trpc`, so a host's own procedures get the bearer token too), the regstack part of it (`auth`), typed
 * helpers for every regstack procedure, and the auth state (`getUser`, `onAuthChange`). The router's type
 * is the only thing it takes from @regstack/server.
 */
import type { AccountMe } from '@regstack/shared';
import { getRegstackErrorCode } from '@regstack/shared';
import { createTRPCClient, type HTTPHeaders, httpBatchLink, httpLink, type TRPCClient } from '@trpc/client';
import type { AnyTRPCRouter } from '@trpc/server';
import superjson from 'superjson';
import { createAuthLink } from './auth-link.ts';
import { type AuthChangeListener, type AuthState, createAuthSession } from './auth-state.ts';
import { fetchReportingNetworkErrors } from './network-error.ts';
import { missingResult, oauthBase, readLanding, startUrl, withoutLanding } from './oauth.ts';
import { resolveTokenStore, type TokenStore, type TokenStoreName } from './token-store.ts';
import type { RegstackInputs, RegstackMountPath, RegstackOutputs, RegstackRouter, StandaloneRouter } from './types.ts';

/** A `fetch` implementation (the global one, undici's, a test double that really sends requests, …). */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** A data transformer pair, as tRPC's `initTRPC.create({ transformer })` takes it. */
export interface TransformerLike {
  serialize(value: unknown): unknown;
  deserialize(value: unknown): unknown;
}

export interface RegstackClientOptions<TRouter extends AnyTRPCRouter = StandaloneRouter> {
  /**
   * The tRPC endpoint: `http://localhost:8000/trpc` for regstack's own server, your app's endpoint when
   * regstack is nested in it. In a browser a same-origin path (`/trpc`) works.
   */
  url: string | URL;
  /**
   * Where regstack's router is mounted in the root router (dotted for deeper nesting).
   * @default 'auth'
   */
  path?: RegstackMountPath<TRouter>;
  /**
   * Where the access token is kept: `'memory'`, `'localStorage'`, `'sessionStorage'` or any
   * `{ get, set }` object (sync or async).
   * @default 'memory'
   */
  tokenStore?: TokenStore | TokenStoreName;
  /** @default globalThis.fetch */
  fetch?: FetchLike;
  /**
   * Extra headers for every request: an object or a (possibly async) function. The client's own
   * `authorization` header wins over one given here while a user is signed in.
   * @default none
   */
  headers?: Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>);
  /**
   * The wire transformer; it must match the server's. regstack's server, and hosts that nest it, use superjson.
   * @default superjson
   */
  transformer?: TransformerLike;
  /**
   * Batch calls made in the same tick into one HTTP request.
   * @default true
   */
  batch?: boolean;
  /**
   * Where the server's provider sign-in routes are (its `oauth_prefix`), resolved against `url`: a path on the
   * tRPC endpoint's origin, or a full URL. `signInWithProvider('google')` goes to `{this}/google/start`.
   * @default '/oauth'
   */
  oauthPrefix?: string | URL;
  /**
   * How the client sends the browser to a provider (`signInWithProvider`, `oauth.link`). Give one outside a
   * browser, or to route through your framework's navigation.
   * @default (url) => window.location.assign(url)
   */
  navigate?: (url: string) => void;
}

/** Where the browser comes back to after a provider sign-in. */
export interface ProviderSignInOptions {
  /**
   * A path on the server's `base_url` (`/dashboard`) or a URL on one of its `oauth.allowed_redirects` origins;
   * the callback appends `?id=…` or `?error=CODE` to it. Unset: `{base_url}{ui_prefix}/oauth-complete`.
   * @default the server's completion page
   */
  redirectTo?: string;
}

/** Which URL `completeOAuth()` reads the callback's result from. */
export interface CompleteOAuthOptions {
  /**
   * The URL the callback sent the browser to. When given, the address bar is left alone.
   * @default the page's own location (whose `id` / `error` are then removed with `history.replaceState`)
   */
  url?: string | URL;
}

/** A sign-in waiting for its second factor: what a page needs to ask for the code. */
export interface MfaChallenge {
  /** The factors the user may answer with (`totp`, `sms`, `recovery`). */
  readonly methods: MfaRequired['methods'];
  /** The masked phone number an SMS code went to, when `sms` is among the methods. */
  readonly phoneHint: MfaRequired['phoneHint'];
  /** When the pending token expires (ms since the epoch, client clock): after it, sign in again. */
  readonly expiresAt: number;
}

type MfaRequired = Extract<RegstackOutputs['login'], { status: 'mfa_required' }>;

/** The typed client. `TRouter` is the root router: `StandaloneRouter` for regstack's own server, your app's otherwise. */
export interface RegstackClient<TRouter extends AnyTRPCRouter = StandaloneRouter> {
  /** The raw typed tRPC proxy for the whole root router; calls carry the bearer token. */
  readonly trpc: TRPCClient<TRouter>;
  /** The regstack part of `trpc` (`trpc[path]`), typed from `RegstackRouter`. */
  readonly auth: TRPCClient<RegstackRouter>;
  /** Where regstack is mounted (`'auth'` by default). */
  readonly path: string;

  /** `register`: `pending_verification` (a mail was sent) or `registered` when verification is off. Stores nothing. */
  register(input: RegstackInputs['register']): Promise<RegstackOutputs['register']>;
  /**
   * `verifyEmail` with the token from the verification link. Does not sign in. When several sign-ups for the
   * address are pending, or the link was resent, it fails with PASSWORD_REQUIRED (the link stays usable): ask for
   * the password chosen at sign-up and call again with `{ token, password }`.
   */
  verifyEmail(input: RegstackInputs['verifyEmail']): Promise<RegstackOutputs['verifyEmail']>;
  /** `resendVerification`: always the same answer, whether or not the address has an account. */
  resendVerification(input: RegstackInputs['resendVerification']): Promise<RegstackOutputs['resendVerification']>;
  /**
   * `login`. On `authenticated` the token is stored and the user set before this resolves. On
   * `mfa_required` nothing is stored: the result (with its `mfaPendingToken`) is the caller's to continue with.
   */
  login(input: RegstackInputs['login']): Promise<RegstackOutputs['login']>;
  /**
   * Ends this session on the server and forgets it here. Forgets it here even when the server cannot be
   * reached (then rethrows); a session the server had already ended resolves with `revoked: 0`.
   */
  logout(): Promise<RegstackOutputs['logout']>;
  /** Ends every session of the user (this one included). */
  logoutAll(): Promise<RegstackOutputs['logoutAll']>;
  /** `account.me`: the signed-in user (phone number unmasked); refreshes `getUser()`. */
  me(): Promise<RegstackOutputs['account']['me']>;
  /** `account.sessions`: the user's live sessions, `current` marking this one. */
  sessions(): Promise<RegstackOutputs['account']['sessions']>;
  /**
   * `account.reauthentication`: how a sensitive change proves it is the owner — `{ method: 'password' }` (send
   * `currentPassword`), or for an account without a password `{ method: 'recent_sign_in', until, fresh }` (send none;
   * once `fresh` is false, sign in again first).
   */
  reauthentication(): Promise<RegstackOutputs['account']['reauthentication']>;
  /** `account.revokeSession`: ends one of the user's sessions by id. */
  revokeSession(
    input: RegstackInputs['account']['revokeSession'],
  ): Promise<RegstackOutputs['account']['revokeSession']>;
  /** `mfa.status`: the user's second factors (`enabled`, `methods`, `phoneHint`, `recoveryCodesRemaining`). */
  mfaStatus(): Promise<RegstackOutputs['mfa']['status']>;
  /**
   * The second step of a sign-in: `mfa.confirmLogin` with the pending token of the last `login` that answered
   * `mfa_required` (or the one given). On success the client is signed in, as after a password-only `login`.
   * Throws if no sign-in is waiting for a second factor.
   */
  confirmMfa(input: {
    method: RegstackInputs['mfa']['confirmLogin']['method'];
    code: string;
    mfaPendingToken?: string;
  }): Promise<RegstackOutputs['mfa']['confirmLogin']>;
  /** `mfa.resendLoginCode` for the waiting sign-in: a new SMS code; the earlier one stops working. */
  resendMfaCode(input?: { mfaPendingToken?: string }): Promise<RegstackOutputs['mfa']['resendLoginCode']>;
  /**
   * The sign-in waiting for a second factor (the last `login` answered `mfa_required`), or null. Cleared by a
   * successful `confirmMfa`, a `login` that signs in, `cancelMfa`, or the server refusing the pending token
   * (MFA_CHALLENGE_INVALID). It never holds the pending token itself.
   */
  getMfaChallenge(): MfaChallenge | null;
  /** Calls `listener` whenever `getMfaChallenge()` changes; returns the unsubscribe function. */
  onMfaChallengeChange(listener: (challenge: MfaChallenge | null) => void): () => void;
  /** Abandons the waiting sign-in (back to the password form); the pending token is forgotten. */
  cancelMfa(): void;
  /**
   * The URL of the server's sign-in route for `provider` (`{oauthPrefix}/{provider}/start?redirect_to=…`), for a
   * page that renders its own link. Throws OAUTH_PROVIDER_UNKNOWN (a `RegstackOAuthError`) for a name outside the
   * server's rule (lowercase letters, digits, single `_`).
   */
  oauthStartUrl(provider: string, options?: ProviderSignInOptions): string;
  /**
   * Sends the browser to the provider through the server's start route (`oauthStartUrl`). The sign-in ends on
   * `redirectTo` (or the server's completion page), where `completeOAuth()` finishes it.
   */
  signInWithProvider(provider: string, options?: ProviderSignInOptions): void;
  /**
   * Finishes a provider sign-in on the page the callback sent the browser to: reads `?id=` / `?error=` from the
   * page's URL (or `url`), takes them out of the address bar so a reload cannot replay them, and exchanges the
   * one-time id (`auth.oauth.exchange`). Answers like `login()`: `authenticated` (the client is signed in), or
   * `mfa_required` (nothing stored; `confirmMfa()` finishes, as after a password). `?error=CODE` rejects with a
   * `RegstackOAuthError` carrying that code; a URL with neither rejects with OAUTH_RESULT_MISSING. Calls for the
   * same result share one exchange (React StrictMode runs effects twice).
   */
  completeOAuth(options?: CompleteOAuthOptions): Promise<RegstackOutputs['oauth']['exchange']>;
  /** The providers, and the signed-in user's links to them (`auth.oauth.*`). */
  readonly oauth: {
    /** `oauth.providers`: the configured providers; for a signed-in caller, which are linked (and to which address). */
    providers(): Promise<RegstackOutputs['oauth']['providers']>;
    /**
     * Links a provider identity to the signed-in account: `oauth.link.start`, then sends the browser to the URL it
     * returns: the server's own start route, `{base_url}{oauth_prefix}/{provider}/start?link=…` with a one-time ticket,
     * which binds this browser to the linking and sends it on to the provider. It comes back to `redirectTo` with `?linked={provider}` (or
     * `?error=CODE`).
     */
    link(provider: string, options?: ProviderSignInOptions): Promise<void>;
    /** `oauth.unlink`: never the last way in to an account without a password (OAUTH_LAST_SIGN_IN_METHOD). */
    unlink(provider: string): Promise<RegstackOutputs['oauth']['unlink']>;
  };
  /** Enrolment and management of the signed-in user's factors (`auth.mfa.*`). */
  readonly mfa: {
    startTotp(input: RegstackInputs['mfa']['totp']['start']): Promise<RegstackOutputs['mfa']['totp']['start']>;
    confirmTotp(input: RegstackInputs['mfa']['totp']['confirm']): Promise<RegstackOutputs['mfa']['totp']['confirm']>;
    disableTotp(input: RegstackInputs['mfa']['totp']['disable']): Promise<RegstackOutputs['mfa']['totp']['disable']>;
    startSms(input: RegstackInputs['mfa']['sms']['start']): Promise<RegstackOutputs['mfa']['sms']['start']>;
    confirmSms(input: RegstackInputs['mfa']['sms']['confirm']): Promise<RegstackOutputs['mfa']['sms']['confirm']>;
    disableSms(input: RegstackInputs['mfa']['sms']['disable']): Promise<RegstackOutputs['mfa']['sms']['disable']>;
    regenerateRecoveryCodes(
      input: RegstackInputs['mfa']['recoveryCodes']['regenerate'],
    ): Promise<RegstackOutputs['mfa']['recoveryCodes']['regenerate']>;
  };

  /** The signed-in user as last confirmed by the server, or `null`. */
  getUser(): AccountMe | null;
  /** The current auth state snapshot (a new object on every change). */
  getAuthState(): AuthState;
  /** The current access token (after the token store has been read). */
  getAccessToken(): Promise<string | null>;
  /** Calls `listener` on every change of the auth state; returns the unsubscribe function. */
  onAuthChange(listener: AuthChangeListener): () => void;
  /**
   * Reads the stored token and, if there is one, asks the server who it belongs to (`account.me`). Resolves
   * with the user, or `null` when there is no usable session (a refused token is forgotten). Concurrent calls
   * share one request.
   */
  restore(): Promise<AccountMe | null>;
  /** Forgets the token locally without calling the server. */
  clearSession(): Promise<void>;
}

type ExchangeResult = RegstackOutputs['oauth']['exchange'];

/** Completions kept per one-time id: a few, for the duplicate calls of one page load. */
const KEPT_COMPLETIONS = 8;

function pageHref(): string | undefined {
  const href = (globalThis as { location?: { href?: unknown } }).location?.href;
  return typeof href === 'string' ? href : undefined;
}

function browserNavigate(url: string): void {
  const location = (globalThis as { location?: { assign?: (url: string) => void } }).location;
  if (typeof location?.assign !== 'function') {
    throw new TypeError('No browser to navigate: give createRegstackClient a `navigate` option');
  }
  location.assign(url);
}

function replaceAddress(href: string): void {
  const history = (globalThis as { history?: { state?: unknown; replaceState?: (...args: unknown[]) => void } })
    .history;
  history?.replaceState?.(history.state, '', href);
}

function subProxy(root: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], root);
}

/**
 * Creates a client. Without a type argument it is typed for regstack's standalone server
 * (`StandaloneRouter`); pass your root router's type when regstack is nested in your app:
 * `createRegstackClient<AppRouter>({ url: '/trpc', path: 'auth' })`.
 */
export function createRegstackClient<TRouter extends AnyTRPCRouter = StandaloneRouter>(
  options: RegstackClientOptions<TRouter>,
): RegstackClient<TRouter> {
  const path: string = options.path ?? 'auth';
  const session = createAuthSession(resolveTokenStore(options.tokenStore));
  const extraHeaders = options.headers;

  async function headers(): Promise<HTTPHeaders> {
    const extra = typeof extraHeaders === 'function' ? await extraHeaders() : (extraHeaders ?? {});
    const out: Record<string, string> = { ...extra };
    const token = session.token();
    if (token) {
      for (const key of Object.keys(out)) if (key.toLowerCase() === 'authorization') delete out[key];
      out.authorization = `Bearer ${token}`;
    }
    return out;
  }

  // Typed loosely on purpose: whether a router needs a transformer is a conditional type tRPC cannot resolve
  // for a generic `TRouter`. Every router the client is meant for (regstack's, a nesting host's) has one.
  const transport = {
    url: options.url,
    transformer: options.transformer ?? superjson,
    headers,
    // A failed fetch (server down, wrong URL, CORS) becomes NETWORK_ERROR with a message saying what to check.
    fetch: fetchReportingNetworkErrors(options.url, options.fetch),
  } as unknown as Parameters<typeof httpBatchLink<TRouter>>[0] & Parameters<typeof httpLink<TRouter>>[0];
  const trpc = createTRPCClient<TRouter>({
    links: [
      createAuthLink<TRouter>(session, path),
      options.batch === false ? httpLink<TRouter>(transport) : httpBatchLink<TRouter>(transport),
    ],
  });
  const auth = subProxy(trpc, path) as TRPCClient<RegstackRouter>;

  let restoring: Promise<AccountMe | null> | null = null;

  const oauthPrefix = options.oauthPrefix ?? '/oauth';
  const navigate = options.navigate ?? browserNavigate;
  const oauthStartUrl = (provider: string, opts: ProviderSignInOptions = {}) =>
    startUrl(oauthBase(options.url, oauthPrefix), provider, opts.redirectTo);
  // One exchange per one-time id, however often the page asks (a second exchange would be refused anyway).
  const completions = new Map<string, Promise<ExchangeResult>>();
  // The result this page took out of its address bar, for a second call that finds the bar already clean.
  let landed: { href: string; outcome: Promise<ExchangeResult> } | null = null;

  let pendingMfa: string | null = null;
  let challenge: MfaChallenge | null = null;
  const challengeListeners = new Set<(challenge: MfaChallenge | null) => void>();
  const setPending = (result: MfaRequired | null) => {
    // Kept in memory only, never in the token store: it grants nothing but the second step (R50).
    pendingMfa = result?.mfaPendingToken ?? null;
    const next = result
      ? { methods: result.methods, phoneHint: result.phoneHint, expiresAt: Date.now() + result.expiresIn * 1000 }
      : null;
    if (next === null && challenge === null) return;
    challenge = next;
    for (const listener of [...challengeListeners]) listener(next);
  };
  // A pending token the server refused is dead for good: the page must go back to the password.
  const forgetIfRefused = (token: string, err: unknown) => {
    if (pendingMfa === token && getRegstackErrorCode(err) === 'MFA_CHALLENGE_INVALID') setPending(null);
  };
  const exchangeOnce = (id: string): Promise<ExchangeResult> => {
    const known = completions.get(id);
    if (known) return known;
    const outcome = (async () => {
      const result = await auth.oauth.exchange.mutate({ id });
      setPending(result.status === 'mfa_required' ? result : null);
      return result;
    })();
    completions.set(id, outcome);
    if (completions.size > KEPT_COMPLETIONS) completions.delete(completions.keys().next().value as string);
    return outcome;
  };
  const waitingSignIn = (given: string | undefined): string => {
    const token = given ?? pendingMfa;
    if (!token) throw new Error('No sign-in is waiting for a second factor: call login() first');
    return token;
  };
  const client: RegstackClient<TRouter> = {
    trpc,
    auth,
    path,
    register: (input) => auth.register.mutate(input),
    verifyEmail: (input) => auth.verifyEmail.mutate(input),
    resendVerification: (input) => auth.resendVerification.mutate(input),
    async login(input) {
      const result = await auth.login.mutate(input);
      setPending(result.status === 'mfa_required' ? result : null);
      return result;
    },
    async logout() {
      await session.ready();
      if (!session.token()) {
        await session.clear('signed_out');
        return { status: 'logged_out', revoked: 0 };
      }
      try {
        return await auth.logout.mutate();
      } catch (err) {
        // The server had already ended this session: the outcome the caller asked for.
        if (getRegstackErrorCode(err) === 'UNAUTHENTICATED') return { status: 'logged_out', revoked: 0 };
        throw err;
      } finally {
        await session.clear('signed_out');
      }
    },
    logoutAll: () => auth.logoutAll.mutate(),
    me: () => auth.account.me.query(),
    sessions: () => auth.account.sessions.query(),
    reauthentication: () => auth.account.reauthentication.query(),
    revokeSession: (input) => auth.account.revokeSession.mutate(input),
    mfaStatus: () => auth.mfa.status.query(),
    async confirmMfa({ method, code, mfaPendingToken }) {
      const token = waitingSignIn(mfaPendingToken);
      const input = { mfaPendingToken: token, method, code } as RegstackInputs['mfa']['confirmLogin'];
      let result: RegstackOutputs['mfa']['confirmLogin'];
      try {
        result = await auth.mfa.confirmLogin.mutate(input);
      } catch (err) {
        forgetIfRefused(token, err);
        throw err;
      }
      if (pendingMfa === token) setPending(null);
      return result;
    },
    async resendMfaCode(input = {}) {
      const token = waitingSignIn(input.mfaPendingToken);
      try {
        return await auth.mfa.resendLoginCode.mutate({ mfaPendingToken: token });
      } catch (err) {
        forgetIfRefused(token, err);
        throw err;
      }
    },
    getMfaChallenge: () => challenge,
    onMfaChallengeChange(listener) {
      challengeListeners.add(listener);
      return () => challengeListeners.delete(listener);
    },
    cancelMfa: () => setPending(null),
    oauthStartUrl,
    signInWithProvider(provider, opts) {
      navigate(oauthStartUrl(provider, opts));
    },
    completeOAuth(opts = {}) {
      const fromPage = opts.url === undefined;
      let url: URL;
      try {
        url = new URL(opts.url ?? pageHref() ?? '', pageHref());
      } catch {
        return Promise.reject(new TypeError('completeOAuth() outside a browser needs the callback URL: { url }'));
      }
      const landing = readLanding(url);
      if (landing.kind === 'none') {
        // The first of two calls (React StrictMode) already took the result out of the address bar.
        if (fromPage && landed?.href === url.href) return landed.outcome;
        return Promise.reject(missingResult());
      }
      const outcome = landing.kind === 'error' ? Promise.reject(landing.error) : exchangeOnce(landing.id);
      if (fromPage) {
        // Before the exchange answers: a reload meanwhile must not send the one-time id again.
        const clean = withoutLanding(url);
        replaceAddress(clean);
        landed = { href: clean, outcome };
      }
      return outcome;
    },
    oauth: {
      providers: () => auth.oauth.providers.query(),
      async link(provider, opts = {}) {
        const { authorizationUrl } = await auth.oauth.link.start.mutate({
          provider,
          ...(opts.redirectTo !== undefined && { redirectTo: opts.redirectTo }),
        });
        navigate(authorizationUrl);
      },
      unlink: (provider) => auth.oauth.unlink.mutate({ provider }),
    },
    mfa: {
      startTotp: (input) => auth.mfa.totp.start.mutate(input),
      confirmTotp: (input) => auth.mfa.totp.confirm.mutate(input),
      disableTotp: (input) => auth.mfa.totp.disable.mutate(input),
      startSms: (input) => auth.mfa.sms.start.mutate(input),
      confirmSms: (input) => auth.mfa.sms.confirm.mutate(input),
      disableSms: (input) => auth.mfa.sms.disable.mutate(input),
      regenerateRecoveryCodes: (input) => auth.mfa.recoveryCodes.regenerate.mutate(input),
    },

    getUser: () => session.state().user,
    getAuthState: () => session.state(),
    async getAccessToken() {
      await session.ready();
      return session.token();
    },
    onAuthChange: (listener) => session.subscribe(listener),
    restore() {
      restoring ??= (async () => {
        try {
          await session.ready();
          if (!session.token()) return null;
          if (session.state().status === 'authenticated') return session.state().user;
          try {
            return await auth.account.me.query();
          } catch (err) {
            // UNAUTHENTICATED already cleared the state (auth link); anything else leaves it as it was.
            if (getRegstackErrorCode(err) === 'UNAUTHENTICATED') return null;
            throw err;
          }
        } finally {
          restoring = null;
        }
      })();
      return restoring;
    },
    clearSession: () => session.clear('cleared'),
  };
  return client;
}
