/**
 * The pages' side of sign-in with a provider (issue 22), with `enable_oauth`. Like every page action they run the
 * very `auth.oauth.*` procedures the API exposes, through the pages' server-side caller (account-pages.ts lends its
 * caller, responses and form handling).
 *
 * - `/oauth-complete` is where the callback sends the browser: it runs `auth.oauth.exchange` with the browser's
 *   sign-in binding cookie, so an id made for another browser — an attacker's own sign-in, its address sent to a
 *   victim — is refused (OAUTH_BROWSER_MISMATCH, login CSRF). Then it ends exactly like a password sign-in: the
 *   session cookie and the account page (or the validated `next`), or the second step (`_mfa` cookie →
 *   `/mfa-confirm`) for a user with a factor. `?error=CODE` is worded by code, never echoed (R60). The binding
 *   cookie is left to its lifetime: another tab of this browser may have a sign-in of its own under way. Under
 *   `cookie_same_site = strict` the last step is a link, not a redirect.
 * - "Connected accounts" on the account page: Link posts (CSRF token, R57) to `auth.oauth.link.start` and follows
 *   its URL — our own `start` with a one-time ticket, which binds the linking to this browser and returns to
 *   `/me`; Unlink posts to `auth.oauth.unlink`, whose refusal of the last way in shows on the card.
 */
import type { LoginResult } from '@regstack/shared';
import type { VNode } from 'preact';
import type { RegstackConfig } from '../../config/index.ts';
import type { regstackRouter } from '../../routers/auth.ts';
import { configuredProviders } from '../../security/oidc-client.ts';
import type { describeError } from '../../trpc/error-formatter.ts';
import { messageFor, oauthErrorMessage } from './messages.ts';
import type { PageCookies } from './page-session.ts';
import { safeRedirectPath } from './page-session.ts';
import {
  type ConnectedProvider,
  connectedAccountsCard,
  oauthCompletePage,
  oauthContinuePage,
  type PageOAuth,
  providerLabel,
} from './views-oauth.ts';
import type { PublicPageConfig } from './views-public.ts';

/** The page the callback sends the browser to when the host serves the pages. */
export const OAUTH_COMPLETE_PAGE = '/oauth-complete';
/** Signed-in POST actions of the "Connected accounts" card. */
export const OAUTH_ACCOUNT_POSTS = ['/me/oauth/link', '/me/oauth/unlink'] as const;

type PageCaller = ReturnType<typeof regstackRouter.createCaller>;
type Described = ReturnType<typeof describeError>;
type Outcome<T> = { ok: true; value: T } | { ok: false; error: Described; status: number };
type MfaRequired = Extract<LoginResult, { status: 'mfa_required' }>;

/** What the account page shows on the card: a notice or a refusal. */
export interface ConnectedState {
  oauthNotice?: string | undefined;
  oauthFailed?: string | undefined;
}

/** What account-pages.ts lends. */
export interface OAuthPageKit {
  config: RegstackConfig;
  pageConfig: PublicPageConfig;
  ui: string;
  cookies: PageCookies;
  callerFor(request: Request, remote: string | null, session?: string, oauthBinding?: string): PageCaller;
  attempt<T>(work: () => Promise<T>): Promise<Outcome<T>>;
  respond(status: number, body: VNode | null, setCookies?: string[], head?: boolean): Response;
  redirect(location: string, setCookies?: string[]): Response;
  startSecondStep(result: MfaRequired, next: string | null): Response;
  renderAccount(
    request: Request,
    remote: string | null,
    session: string,
    state: ConnectedState,
    status: number,
  ): Promise<Response>;
  toLogin(hadSession: boolean, request?: Request): Promise<Response>;
}

/** The providers the pages offer, or undefined when sign-in with a provider is off or none is configured. */
export function pageOAuthOf(config: RegstackConfig): PageOAuth | undefined {
  if (!config.enableOauth) return undefined;
  const providers = Object.keys(configuredProviders(config)).map((name) => ({ name, label: providerLabel(name) }));
  if (!providers.length) return undefined;
  return { prefix: config.oauthPrefix.replace(/\/+$/, ''), providers };
}

export function createOAuthPages(kit: OAuthPageKit, oauth: PageOAuth) {
  const { ui, cookies } = kit;
  const labelOf = (name: string) => oauth.providers.find((p) => p.name === name)?.label;

  /**
   * The sign-in's last redirect — or, with `cookie_same_site = strict`, a page that sets the same cookies and links
   * on (views-oauth.ts, `oauthContinuePage`: a Strict cookie set in a chain that began at the provider would not be
   * sent on the redirect's next hop).
   */
  function onward(redirect: Response, secondStep: boolean): Response {
    if (kit.config.cookieSameSite !== 'strict') return redirect;
    const href = redirect.headers.get('location') ?? `${ui}/me`;
    return kit.respond(200, oauthContinuePage(kit.pageConfig, href, secondStep), redirect.headers.getSetCookie());
  }

  return {
    /** `GET {ui}/oauth-complete?id=…` (or `?error=CODE`): the exchange, ended like a password sign-in. */
    async getComplete(request: Request, url: URL, remote: string | null, head: boolean): Promise<Response> {
      const next = safeRedirectPath(url.searchParams.get('next'), '') || null;
      const id = url.searchParams.get('id');
      const error = url.searchParams.get('error');
      if (error !== null || id === null) {
        return kit.respond(400, oauthCompletePage(kit.pageConfig, oauthErrorMessage(error)), [], head);
      }
      // A HEAD (a link checker) must not spend the one-time id.
      if (head) return kit.respond(200, null, [], true);
      const binding = cookies.read(request).oauth ?? '';
      const caller = kit.callerFor(request, remote, undefined, binding);
      const result = await kit.attempt(() => caller.oauth.exchange({ id }));
      if (!result.ok) {
        // A malformed id is simply not a sign-in of ours.
        const code =
          result.error.regstackCode === 'VALIDATION_FAILED' ? 'OAUTH_EXCHANGE_INVALID' : result.error.regstackCode;
        const text = oauthErrorMessage(code, result.error.retryAfterSeconds);
        return kit.respond(result.status, oauthCompletePage(kit.pageConfig, text), []);
      }
      if (result.value.status === 'mfa_required') {
        return onward(kit.startSecondStep(result.value, next), true);
      }
      return onward(
        kit.redirect(next ?? `${ui}/me`, [cookies.setSession(result.value.accessToken, result.value.expiresIn)]),
        false,
      );
    },

    /** The card's notice or refusal from the linking's return (`?linked=name`, `?error=CODE`). */
    stateFrom(url: URL): ConnectedState {
      const linked = url.searchParams.get('linked');
      const error = url.searchParams.get('error');
      const label = linked === null ? undefined : labelOf(linked);
      return {
        ...(label && { oauthNotice: `Your ${label} account is linked.` }),
        ...(error !== null && { oauthFailed: oauthErrorMessage(error) }),
      };
    },

    /** The "Connected accounts" card, from `auth.oauth.providers`. */
    card(
      csrf: string,
      linked: readonly { name: string; linked: boolean; email: string | null }[],
      state: ConnectedState,
    ) {
      const providers: ConnectedProvider[] = linked.map((p) => ({
        ...p,
        label: labelOf(p.name) ?? providerLabel(p.name),
      }));
      return connectedAccountsCard(ui, csrf, providers, { notice: state.oauthNotice, formError: state.oauthFailed });
    },

    async postAccount(
      request: Request,
      sub: string,
      form: URLSearchParams,
      remote: string | null,
      session: string,
    ): Promise<Response> {
      const caller = kit.callerFor(request, remote, session);
      const provider = form.get('provider') ?? '';
      const refused = (result: { error: Described; status: number }) => {
        if (result.error.regstackCode === 'UNAUTHENTICATED') return kit.toLogin(true, request);
        const code = result.error.regstackCode;
        const text = code?.startsWith('OAUTH_') ? oauthErrorMessage(code) : messageFor(result.error);
        return kit.renderAccount(request, remote, session, { oauthFailed: text }, result.status);
      };
      if (sub === '/me/oauth/link') {
        const result = await kit.attempt(() => caller.oauth.link.start({ provider, redirectTo: `${ui}/me` }));
        // Our own `start` URL with a one-time ticket: this browser follows it and gets the binding cookie there.
        return result.ok ? kit.redirect(result.value.authorizationUrl) : refused(result);
      }
      const result = await kit.attempt(() => caller.oauth.unlink({ provider }));
      return result.ok ? kit.redirect(`${ui}/me?status=oauth_unlinked`) : refused(result);
    },
  };
}

export type OAuthPages = ReturnType<typeof createOAuthPages>;
