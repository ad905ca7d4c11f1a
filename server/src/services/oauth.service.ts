/**
 * Sign-in with OpenID Connect providers (issue 22; SECURITY.md Part 3: pre-account takeover, open redirects,
 * state/nonce mix-ups).
 *
 * - `start` keeps `state`, `nonce` and the PKCE verifier server-side (oauth_states, hashed key, single-use, short
 *   TTL) and answers the provider's authorization URL. `redirect_to` is a relative path on `base_url` or on
 *   `oauth.allowed_redirects`, checked before anything is stored: never an open redirect.
 * - Every sign-in is bound to the browser that started it (login CSRF, RFC 6749 §10.12, RFC 9700 §4.7): the HTTP
 *   layer keeps a random value in an HttpOnly cookie and `start` stores its hash with the state. The callback
 *   refuses a state that another browser brings (OAUTH_BROWSER_MISMATCH) — an attacker's own callback URL sent to
 *   a victim signs nobody in — and the completion keeps the hash, so the pages' `/oauth-complete` (which passes
 *   the cookie) refuses an id made for another browser too. `link.start` answers a URL on our own `start` with a
 *   one-time ticket, so the browser that follows it is the one bound.
 * - `callback` takes the state once (a replayed, expired, foreign or missing state is OAUTH_STATE_INVALID), runs
 *   the code grant (security/oidc-client.ts checks the ID token), then decides the account:
 *   an identity already linked signs its account in; otherwise an existing account with the address is linked
 *   only when `oauth.auto_link_verified_emails` is on, the provider says `email_verified` AND the local address
 *   is verified — an unverified local account is never attached by address (someone else may have registered
 *   it); otherwise OAUTH_ACCOUNT_EXISTS, and the owner signs in and links. A new address makes a verified account,
 *   only when the provider vouches for it. Disabled accounts are refused. The answer is a one-time `exchange` id
 *   (hashed at rest, single-use, `oauth.completion_ttl_seconds`), never a token in a URL.
 * - `exchange` turns the id into exactly what `login` answers: a session, or `mfa_required` when the user has a
 *   second factor (R50); the account's lockout applies (R14–R19: a locked account gets no session this way either).
 * - `linkStart` / `unlink` for a signed-in user; the last way to sign in (no password, one identity) stays.
 */
import type { LoginResult } from '@regstack/shared';
import { canonicalizeEmail } from '@regstack/shared';
import type { User } from '../db/entities/index.ts';
import { RegstackError } from '../errors/regstack-error.ts';
import type { RequestMeta } from '../events.ts';
import { BRIEF_WORK_LEASE, type Repositories, withLease } from '../repositories/index.ts';
import {
  codeChallengeOf,
  createOidcClients,
  type OidcClient,
  type OidcIdentity,
  randomCodeVerifier,
  randomNonce,
  randomState,
} from '../security/oidc-client.ts';
import { generateOneTimeToken, hashOneTimeToken, ONE_TIME_TOKEN_PATTERN } from '../security/one-time-tokens.ts';
import { atomically, openRepos, type ServiceDeps } from './deps.ts';
import type { LockoutService, RateLimiter } from './lockout.service.ts';
import { toPublicUser } from './mappers.ts';
import type { MfaLoginService } from './mfa-login.service.ts';
import { limitClient } from './policies/client-limit.ts';
import { requireRecentSignInWithoutPassword } from './policies/reauthentication.ts';
import type { AuthenticatedSession, SessionService } from './session.service.ts';

const MAX_REDIRECT_LENGTH = 2048;

const fail = (code: ConstructorParameters<typeof RegstackError>[0], message: string) =>
  new RegstackError(code, message);

function hasControlCharacter(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** Where the browser goes at the end, without any query the app did not write. */
export interface OAuthRedirect {
  location: string;
}

/** The callback's answer: where to, and whether the browser keeps its binding cookie for the pages' completion. */
export interface OAuthCallbackRedirect extends OAuthRedirect {
  keepBinding: boolean;
}

export function createOAuthService(
  deps: ServiceDeps,
  parts: { lockout: LockoutService; rateLimiter: RateLimiter; sessions: SessionService; mfaLogin: MfaLoginService },
) {
  const { config } = deps;
  const { lockout, rateLimiter, sessions, mfaLogin } = parts;
  const clients = createOidcClients(config);
  const base = new URL(config.baseUrl);
  const oauthPrefix = config.oauthPrefix.replace(/\/+$/, '');

  function enabled(): void {
    if (!config.enableOauth) throw fail('FEATURE_DISABLED', 'Sign-in with a provider is turned off');
  }

  function clientOf(name: string): OidcClient {
    const found = clients.get(name);
    if (!found) throw fail('OAUTH_PROVIDER_UNKNOWN', 'No such sign-in provider');
    return found;
  }

  /** The redirect URI registered with every provider: `{base_url}{oauth_prefix}/{provider}/callback`. */
  function callbackUrl(name: string): string {
    return `${config.baseUrl}${oauthPrefix}/${name}/callback`;
  }

  /** Where a sign-in ends when the app named no `redirect_to`: the pages' `/oauth-complete` (or the host's). */
  function defaultCompletion(): string {
    return `${config.baseUrl}${config.enableUiRouter ? config.uiPrefix.replace(/\/+$/, '') : ''}/oauth-complete`;
  }

  /** True when `target` is the pages' own `/oauth-complete`, which checks the binding cookie itself. */
  function isPagesCompletion(target: string): boolean {
    if (!config.enableUiRouter) return false;
    const url = new URL(target);
    return url.origin === base.origin && `${url.origin}${url.pathname}` === defaultCompletion();
  }

  const stateInvalid = () => fail('OAUTH_STATE_INVALID', 'This sign-in is unknown, expired or was already completed');
  const browserMismatch = () =>
    fail('OAUTH_BROWSER_MISMATCH', 'This sign-in was started in another browser: start it again here');

  /** SHA-256 of a binding cookie's value, as stored; null for no cookie (which matches nothing). */
  const bindingHash = (binding: string | null | undefined) => (binding ? hashOneTimeToken(binding) : null);

  /**
   * A `redirect_to` the app may be sent back to, as an absolute URL; OAUTH_REDIRECT_NOT_ALLOWED otherwise. Only a
   * path starting with one `/` is relative: `//host` and `/\host` are other hosts to a browser, `javascript:` is
   * not a place at all.
   */
  function checkedRedirect(raw: string | null | undefined): string | null {
    if (raw === null || raw === undefined || raw === '') return null;
    const refuse = () =>
      fail('OAUTH_REDIRECT_NOT_ALLOWED', 'redirect_to must be a path on this site or an allowed origin');
    // No whitespace, control characters or backslashes anywhere: browsers strip or reinterpret them.
    if (raw.length > MAX_REDIRECT_LENGTH || /[\s\\]/.test(raw) || hasControlCharacter(raw)) throw refuse();
    let url: URL;
    try {
      url = raw.startsWith('/') && !raw.startsWith('//') ? new URL(raw, base) : new URL(raw);
    } catch {
      throw refuse();
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse();
    if (url.username !== '' || url.password !== '') throw refuse();
    if (url.origin !== base.origin && !config.oauth.allowedRedirects.includes(url.origin)) throw refuse();
    url.hash = '';
    return url.href;
  }

  function withParams(target: string, params: Record<string, string>): string {
    const url = new URL(target);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    return url.href;
  }

  async function audit(repos: Repositories, event: string, user: string | null, request: RequestMeta, details = {}) {
    await repos.auditEvents.record({ event, actorId: user, subjectId: user, ...request, details }, deps.clock.now());
  }

  async function failed(provider: string | null, err: unknown, request: RequestMeta): Promise<string> {
    const code = RegstackError.is(err) ? err.code : 'INTERNAL_ERROR';
    if (!RegstackError.is(err)) deps.logger.error('oauth callback failed', { provider, err });
    // The library's message names the failed check; its `cause` may carry the token's claims, so it is not logged.
    else if (err.cause instanceof Error)
      deps.logger.info('oauth sign-in refused', { provider, code, reason: err.cause.message });
    await audit(openRepos(deps), 'oauth_failed', null, request, { provider, code }).catch(() => {});
    deps.events.emit('oauth_failed', { provider, code, request });
    return code;
  }

  /** Stores the state of a new sign-in and answers the provider's URL. */
  async function begin(
    name: string,
    redirectTo: string | null,
    linkUserId: string | null,
    binding: string,
    request: RequestMeta,
  ) {
    const provider = clientOf(name);
    const repos = openRepos(deps);
    await limitClient(rateLimiter, repos, request, 'oauth-start', config.oauthExchangeRateLimit);
    const state = randomState();
    const nonce = randomNonce();
    const codeVerifier = randomCodeVerifier();
    const url = await provider.authorizationUrl({
      redirectUri: callbackUrl(name),
      state,
      nonce,
      codeChallenge: await codeChallengeOf(codeVerifier),
    });
    const now = deps.clock.now();
    await repos.oauth.saveState(
      {
        id: hashOneTimeToken(state),
        kind: 'start',
        provider: name,
        nonce,
        codeVerifier,
        redirectTo,
        userId: linkUserId,
        browserBinding: hashOneTimeToken(binding),
        expiresAt: new Date(now.getTime() + config.oauth.stateTtlSeconds * 1000),
      },
      now,
    );
    deps.events.emit('oauth_signin_started', { provider: name, linkUserId, request });
    return url;
  }

  /** Links `identity` to `user`; the refusals are the rules in the header. */
  async function link(repos: Repositories, user: User, name: string, identity: OidcIdentity, byEmail: boolean) {
    const now = deps.clock.now();
    const existing = await repos.oauth.findIdentity(name, identity.subject);
    if (existing) {
      if (existing.userId === user.id) return;
      throw fail('OAUTH_IDENTITY_TAKEN', 'This provider account is linked to another account');
    }
    if ((await repos.oauth.listIdentities(user.id)).some((row) => row.provider === name)) {
      throw fail('OAUTH_ALREADY_LINKED', 'The account is already linked to this provider');
    }
    const added = await repos.oauth.addIdentity({
      id: crypto.randomUUID(),
      userId: user.id,
      provider: name,
      subject: identity.subject,
      email: identity.email,
      createdAt: now,
    });
    if (!added) throw fail('OAUTH_IDENTITY_TAKEN', 'This provider account is linked to another account');
    return { byEmail };
  }

  /** The account a provider identity signs in to, creating or linking one as the rules allow. */
  async function accountFor(name: string, identity: OidcIdentity, request: RequestMeta) {
    const repos = openRepos(deps);
    const linked = await repos.oauth.findIdentity(name, identity.subject);
    if (linked) {
      const user = await repos.users.findById(linked.userId);
      if (!user) throw fail('OAUTH_ACCOUNT_UNAVAILABLE', 'The account is not available');
      await repos.oauth.touchIdentity(linked.id, deps.clock.now());
      return { user, created: false };
    }
    if (!identity.email) throw fail('OAUTH_EMAIL_MISSING', 'The provider gave no email address');
    // The address is what an account is matched by, so the provider must vouch for it, for a match and a new one.
    if (!identity.emailVerified) {
      throw fail('OAUTH_EMAIL_NOT_VERIFIED', 'The provider has not verified this email address');
    }
    const canonical = canonicalizeEmail(identity.email);
    if (!canonical.ok) throw fail('OAUTH_EMAIL_MISSING', 'The provider gave no usable email address');
    const email = canonical.email;
    const existing = await repos.users.findByEmail(email);
    if (existing) {
      // Pre-account takeover: only a local address its owner proved is ever joined by address (issue 22).
      if (!config.oauth.autoLinkVerifiedEmails || !existing.isVerified || !existing.isActive) {
        throw fail('OAUTH_ACCOUNT_EXISTS', 'An account with this address exists: sign in and link the provider');
      }
      await atomically(deps, (tx) => link(tx, existing, name, identity, true));
      await audit(repos, 'oauth_account_linked', existing.id, request, { provider: name, byEmail: true });
      deps.events.emit('oauth_account_linked', { provider: name, userId: existing.id, byEmail: true, request });
      return { user: existing, created: false };
    }
    if (!config.allowRegistration) throw fail('REGISTRATION_DISABLED', 'Registration is turned off');
    const user = await atomically(deps, async (tx) => {
      const now = deps.clock.now();
      const made = await tx.users.insertIfEmailFree(
        { email, hashedPassword: null, fullName: identity.name?.slice(0, 100) ?? null, isVerified: true },
        now,
      );
      // Someone registered the address a moment ago: theirs, not this sign-in's.
      if (!made)
        throw fail('OAUTH_ACCOUNT_EXISTS', 'An account with this address exists: sign in and link the provider');
      await link(tx, made, name, identity, false);
      return made;
    });
    deps.events.emit('user_registered', { user: toPublicUser(user), request });
    return { user, created: true };
  }

  return {
    callbackUrl,

    /** Configured providers, and for a signed-in caller which are linked. */
    async providers(auth: AuthenticatedSession | null) {
      enabled();
      const linked = auth ? await openRepos(deps).oauth.listIdentities(auth.user.id) : [];
      return {
        providers: [...clients.keys()].map((name) => ({
          name,
          linked: linked.some((row) => row.provider === name),
          email: linked.find((row) => row.provider === name)?.email ?? null,
        })),
      };
    },

    /**
     * `GET {oauth_prefix}/{provider}/start`: the 302 location — the provider, or back to the app with `error=` when
     * the sign-in cannot start (an unknown provider; a refused `redirect_to` goes back to the default page).
     * `binding` is the value of the browser's binding cookie (the HTTP layer sets it); `linkTicket` the one-time
     * ticket of `link.start`, which names the account and `redirect_to` instead of the query.
     */
    async start(
      name: string,
      rawRedirect: string | null,
      linkTicket: string | null,
      binding: string,
      request: RequestMeta,
    ): Promise<OAuthRedirect> {
      let target = defaultCompletion();
      try {
        enabled();
        if (linkTicket !== null) {
          const row = ONE_TIME_TOKEN_PATTERN.test(linkTicket)
            ? await openRepos(deps).oauth.takeState(hashOneTimeToken(linkTicket), 'link', deps.clock.now())
            : null;
          if (!row?.userId || row.provider !== name) throw stateInvalid();
          if (row.redirectTo) target = row.redirectTo;
          const url = await begin(name, row.redirectTo ?? null, row.userId, binding, request);
          return { location: url.href };
        }
        const redirectTo = checkedRedirect(rawRedirect);
        if (redirectTo) target = redirectTo;
        const url = await begin(name, redirectTo, null, binding, request);
        return { location: url.href };
      } catch (err) {
        return { location: withParams(target, { error: await failed(name, err, request) }) };
      }
    },

    /**
     * `auth.oauth.link.start`: a URL on our own `{oauth_prefix}/{provider}/start` with a one-time ticket naming the
     * signed-in account, so that the browser which follows it is the one the linking is bound to (the provider's
     * URL itself would carry a state no browser holds the binding of). Single-use, `oauth.state_ttl_seconds`. An
     * account without a password links only with a recent sign-in (policies/reauthentication.ts).
     */
    async linkStart(auth: AuthenticatedSession, name: string, rawRedirect: string | undefined, request: RequestMeta) {
      enabled();
      clientOf(name);
      const redirectTo = checkedRedirect(rawRedirect);
      const repos = openRepos(deps);
      await limitClient(rateLimiter, repos, request, 'oauth-start', config.oauthExchangeRateLimit);
      await requireRecentSignInWithoutPassword(deps, repos, auth);
      const { token, hash } = generateOneTimeToken();
      const now = deps.clock.now();
      await repos.oauth.saveState(
        {
          id: hash,
          kind: 'link',
          provider: name,
          nonce: null,
          codeVerifier: null,
          redirectTo,
          userId: auth.user.id,
          browserBinding: null,
          expiresAt: new Date(now.getTime() + config.oauth.stateTtlSeconds * 1000),
        },
        now,
      );
      const url = new URL(`${config.baseUrl}${oauthPrefix}/${name}/start`);
      url.searchParams.set('link', token);
      return { authorizationUrl: url.href };
    },

    /** `GET {oauth_prefix}/{provider}/callback`: always a 302 back to the app (`id=` or `linked=`, or `error=`). */
    async callback(
      name: string,
      requestUrl: URL,
      binding: string | null,
      request: RequestMeta,
    ): Promise<OAuthCallbackRedirect> {
      let target = defaultCompletion();
      try {
        enabled();
        const provider = clientOf(name);
        const state = requestUrl.searchParams.get('state');
        const now = deps.clock.now();
        const row = state ? await openRepos(deps).oauth.takeState(hashOneTimeToken(state), 'start', now) : null;
        // A state made for another provider is a mix-up attempt: refused like an unknown one.
        if (!state || !row || row.provider !== name || !row.nonce || !row.codeVerifier) throw stateInvalid();
        if (row.redirectTo) target = row.redirectTo;
        // Login CSRF: only the browser that started this sign-in may finish it. The state is spent either way, so an
        // attacker's callback URL opened by a victim is gone, not merely refused.
        if (!row.browserBinding || bindingHash(binding) !== row.browserBinding) throw browserMismatch();
        // The URL the provider redirected to, rebuilt from configuration (R28): the library compares it.
        const current = new URL(callbackUrl(name));
        current.search = requestUrl.search;
        const identity = await provider.complete(current, {
          state,
          nonce: row.nonce,
          codeVerifier: row.codeVerifier,
        });

        if (row.userId) {
          const repos = openRepos(deps);
          const user = await repos.users.findById(row.userId);
          if (!user?.isActive) throw fail('OAUTH_ACCOUNT_UNAVAILABLE', 'The account is not available');
          await atomically(deps, (tx) => link(tx, user, name, identity, false));
          await audit(repos, 'oauth_account_linked', user.id, request, { provider: name, byEmail: false });
          deps.events.emit('oauth_account_linked', { provider: name, userId: user.id, byEmail: false, request });
          return { location: withParams(target, { linked: name }), keepBinding: false };
        }

        const { user, created } = await accountFor(name, identity, request);
        if (!user.isActive) throw fail('OAUTH_ACCOUNT_UNAVAILABLE', 'The account is not available');
        const { token, hash } = generateOneTimeToken();
        const at = deps.clock.now();
        const repos = openRepos(deps);
        await repos.oauth.saveState(
          {
            id: hash,
            kind: 'completion',
            provider: name,
            nonce: null,
            codeVerifier: null,
            redirectTo: null,
            userId: user.id,
            browserBinding: row.browserBinding,
            expiresAt: new Date(at.getTime() + config.oauth.completionTtlSeconds * 1000),
          },
          at,
        );
        await audit(repos, 'oauth_signin_completed', user.id, request, { provider: name, created });
        deps.events.emit('oauth_signin_completed', { provider: name, userId: user.id, created, request });
        // The pages' completion checks the binding cookie again (for the id): the browser keeps it until then.
        return { location: withParams(target, { id: token }), keepBinding: isPagesCompletion(target) };
      } catch (err) {
        return { location: withParams(target, { error: await failed(name, err, request) }), keepBinding: false };
      }
    },

    /**
     * `auth.oauth.exchange`: the one-time id becomes what `login` answers, once. `binding` is set by the pages only
     * (the browser's binding cookie, '' when it has none): then the id must have been made for this browser, so an
     * id from an attacker's own sign-in opened in a victim's browser signs nobody in. An app on another origin
     * cannot pass the HttpOnly cookie; for it the id alone is the proof (docs/oauth.md).
     */
    async exchange(id: string, request: RequestMeta, binding?: string): Promise<LoginResult> {
      enabled();
      const repos = openRepos(deps);
      await limitClient(rateLimiter, repos, request, 'oauth-exchange', config.oauthExchangeRateLimit);
      const invalid = () => fail('OAUTH_EXCHANGE_INVALID', 'This sign-in has expired or was already completed');
      const row = await repos.oauth.takeState(hashOneTimeToken(id), 'completion', deps.clock.now());
      if (!row?.userId) throw invalid();
      if (binding !== undefined && (!row.browserBinding || bindingHash(binding) !== row.browserBinding)) {
        throw browserMismatch();
      }
      const user = await repos.users.findById(row.userId);
      if (!user) throw invalid();
      if (!user.isActive) throw fail('OAUTH_ACCOUNT_UNAVAILABLE', 'The account is not available');
      // The lockout covers every way in (R19): a locked account is refused here too (TOO_MANY_ATTEMPTS).
      const reservation = await lockout.reserve(repos.loginAttempts, lockout.keyFor(user.email));
      await reservation.withdraw();
      if (user.isMfaEnabled) {
        const challenge = await mfaLogin.start(user, request);
        if (challenge) return challenge;
      }
      const session = await sessions.start(user, request);
      const now = deps.clock.now();
      await repos.users.recordLogin(user.id, now);
      await audit(repos, 'login', user.id, request, { sessionId: session.id, provider: row.provider });
      const { accessToken, expiresIn } = await sessions.tokenFor(session);
      const dto = toPublicUser({ ...user, lastLoginAt: now });
      deps.events.emit('user_logged_in', { user: dto, sessionId: session.id, request });
      return { status: 'authenticated', accessToken, tokenType: 'Bearer', expiresIn, user: dto };
    },

    /**
     * `auth.oauth.unlink`: never the last way to sign in to an account without a password, and for such an account
     * only with a recent sign-in (as `linkStart`; policies/reauthentication.ts). One user's unlinks take
     * turns (a lease), so two at once — each provider from its own tab — cannot both see the other identity still
     * there and leave the account with no way in.
     */
    async unlink(auth: AuthenticatedSession, name: string, request: RequestMeta): Promise<{ status: 'unlinked' }> {
      enabled();
      const repos = openRepos(deps);
      await requireRecentSignInWithoutPassword(deps, repos, auth);
      await withLease(repos.claims, `oauth-unlink:${auth.user.id}`, BRIEF_WORK_LEASE, async () => {
        const identities = await repos.oauth.listIdentities(auth.user.id);
        if (!identities.some((row) => row.provider === name)) {
          throw fail('OAUTH_NOT_LINKED', 'The account is not linked to this provider');
        }
        const credentials = await repos.users.findCredentialsById(auth.user.id);
        if (!credentials?.hashedPassword && identities.length === 1) {
          throw fail('OAUTH_LAST_SIGN_IN_METHOD', 'Set a password before unlinking the only way to sign in');
        }
        await repos.oauth.removeIdentity(auth.user.id, name);
      });
      await audit(repos, 'oauth_account_unlinked', auth.user.id, request, { provider: name });
      deps.events.emit('oauth_account_unlinked', { provider: name, userId: auth.user.id, request });
      return { status: 'unlinked' };
    },
  };
}

export type OAuthService = ReturnType<typeof createOAuthService>;
