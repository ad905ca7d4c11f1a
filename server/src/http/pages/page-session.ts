/**
 * The pages' cookies and request checks (R57, R58). Three cookies, all HttpOnly, `Path=/`, no `Domain`, SameSite
 * from `cookie_same_site`, and — unless `base_url` is plain http on a loopback host — `Secure` under the `__Host-`
 * prefix (`cookie_name`, default `__Host-regstack_session`):
 *
 * - the session cookie (`cookie_name`) carries a regstack access token, checked on every page exactly as a bearer
 *   token is (the same procedures run, so the same revocation and cutoff decide). Only the pages read it: the tRPC
 *   endpoint never does (fetch-handler.ts), so no cross-site request can ride on it there;
 * - the pre-session cookie (`cookie_name` + `_csrf`) holds a random value that the sign-in and sign-up forms' CSRF
 *   tokens are bound to (login-CSRF);
 * - the link cookie (`cookie_name` + `_link`) holds a mailed link's token for a moment, so the token leaves the
 *   address bar with a redirect, without JavaScript (R29);
 * - the second-step cookie (`cookie_name` + `_mfa`) holds a sign-in's MFA-pending token between the password and
 *   the code, for the token's lifetime at most, so the token is never in an address (R50);
 * - the sign-in binding cookie (`cookie_name` + `_oauth`, with `enable_oauth`, even without the pages) holds a random
 *   value that a provider sign-in is bound to (login CSRF, services/oauth.service.ts). It is always `SameSite=Lax`,
 *   whatever `cookie_same_site` says: it must come back on the provider's top-level redirect to the callback, a
 *   cross-site GET navigation that `Strict` would strip. It keeps `Path=/` (not the OAuth prefix): `__Host-`
 *   requires it, and that prefix is what stops a sibling subdomain from planting a binding value of its choice.
 *
 * On `http://localhost` development no browser would store a `__Host-` or `Secure` cookie sent over plain http
 * everywhere, so there — and only there — the cookies drop both (their names lose the prefix).
 *
 * Every POST must also come from this origin: a `Sec-Fetch-Site` other than `same-origin`, or an `Origin` that is
 * neither `base_url`'s nor the request's own, is refused before its CSRF token is even read.
 */
import { parseCookie, stringifySetCookie } from 'cookie';
import type { RegstackConfig } from '../../config/index.ts';

export type PageCookieConfig = Pick<RegstackConfig, 'baseUrl' | 'cookieName' | 'cookieSameSite'>;

export interface PageCookies {
  readonly sessionName: string;
  readonly preSessionName: string;
  readonly linkName: string;
  readonly mfaName: string;
  readonly oauthName: string;
  readonly secure: boolean;
  read(request: Request): { session?: string; preSession?: string; link?: string; mfa?: string; oauth?: string };
  /** `Set-Cookie` for the session cookie holding `accessToken`, kept for `maxAgeSeconds` (the token's lifetime). */
  setSession(accessToken: string, maxAgeSeconds: number): string;
  setPreSession(value: string): string;
  setLink(value: string): string;
  /** `Set-Cookie` for the second-step cookie, kept for `maxAgeSeconds` (the pending token's lifetime). */
  setMfa(value: string, maxAgeSeconds: number): string;
  /** `Set-Cookie` for the sign-in binding cookie (always `SameSite=Lax`), kept for `maxAgeSeconds`. */
  setOAuthBinding(value: string, maxAgeSeconds: number): string;
  /** `Set-Cookie` that deletes the named cookie. */
  clear(name: string): string;
}

const LOOPBACK_HOSTS = /^(?:localhost|[a-z0-9-]+\.localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/** True when `base_url` is plain http on this machine: the one setup where cookies go without `Secure`. */
export function isLocalDevelopmentOrigin(baseUrl: string): boolean {
  const url = new URL(baseUrl);
  return url.protocol === 'http:' && LOOPBACK_HOSTS.test(url.hostname);
}

/** How long a mailed link's token may wait in its cookie between the redirect and the form post. */
const LINK_COOKIE_SECONDS = 3600;
/** Largest cookie value read at all: an access token is far below it. */
const MAX_COOKIE_VALUE = 4096;

export function createPageCookies(config: PageCookieConfig): PageCookies {
  const secure = !isLocalDevelopmentOrigin(config.baseUrl);
  const base = secure ? config.cookieName : config.cookieName.replace(/^__Host-/, '');
  const sessionName = base;
  const preSessionName = `${base}_csrf`;
  const linkName = `${base}_link`;
  const mfaName = `${base}_mfa`;
  const oauthName = `${base}_oauth`;
  const attributes = {
    httpOnly: true,
    secure,
    path: '/',
    sameSite: config.cookieSameSite,
  } as const;
  const set = (name: string, value: string, maxAge?: number) =>
    stringifySetCookie({ name, value, ...attributes, ...(maxAge !== undefined && { maxAge }) });
  const pick = (cookies: Record<string, string | undefined>, name: string) => {
    const value = Object.hasOwn(cookies, name) ? cookies[name] : undefined;
    return value && value.length <= MAX_COOKIE_VALUE ? value : undefined;
  };
  return {
    sessionName,
    preSessionName,
    linkName,
    mfaName,
    oauthName,
    secure,
    read(request) {
      const header = request.headers.get('cookie');
      if (!header) return {};
      const cookies = parseCookie(header);
      const session = pick(cookies, sessionName);
      const preSession = pick(cookies, preSessionName);
      const link = pick(cookies, linkName);
      const mfa = pick(cookies, mfaName);
      const oauth = pick(cookies, oauthName);
      return {
        ...(session && { session }),
        ...(preSession && { preSession }),
        ...(link && { link }),
        ...(mfa && { mfa }),
        ...(oauth && { oauth }),
      };
    },
    setSession: (token, maxAgeSeconds) => set(sessionName, token, Math.max(0, Math.floor(maxAgeSeconds))),
    // A browser-session cookie: it lives until the browser closes, like the forms it protects.
    setPreSession: (value) => set(preSessionName, value),
    setLink: (value) => set(linkName, value, LINK_COOKIE_SECONDS),
    setMfa: (value, maxAgeSeconds) => set(mfaName, value, Math.max(0, Math.floor(maxAgeSeconds))),
    setOAuthBinding: (value, maxAgeSeconds) =>
      stringifySetCookie({
        name: oauthName,
        value,
        ...attributes,
        sameSite: 'lax',
        maxAge: Math.max(0, Math.floor(maxAgeSeconds)),
      }),
    clear: (name) => set(name, '', 0),
  };
}

/**
 * The origin check of every page POST (R57): the browser says where the form came from. `Sec-Fetch-Site` must be
 * `same-origin` when sent; `Origin`, when sent, must be `base_url`'s origin or the origin the request was made to.
 * A client that sends neither (an old browser, a script) is left to the CSRF token, which every POST needs anyway.
 */
export function isSameOriginPost(request: Request, baseUrl: string): boolean {
  const site = request.headers.get('sec-fetch-site');
  if (site !== null && site !== 'same-origin') return false;
  const origin = request.headers.get('origin');
  if (origin === null) return true;
  return origin === new URL(baseUrl).origin || origin === new URL(request.url).origin;
}

/**
 * A post-sign-in destination from a query or form (R60): only a path on this origin — one leading `/`, not `//`
 * or `/\` (which browsers read as another host), no control characters or backslashes — else `fallback`.
 */
export function safeRedirectPath(candidate: string | null | undefined, fallback: string): string {
  if (!candidate || candidate.length > 1024) return fallback;
  const hasControlOrBackslash = [...candidate].some((c) => c === '\\' || c.charCodeAt(0) < 0x20 || c === '\u007f');
  if (!candidate.startsWith('/') || candidate.startsWith('//') || hasControlOrBackslash) {
    return fallback;
  }
  try {
    const probe = new URL(candidate, 'https://regstack.invalid');
    if (probe.origin !== 'https://regstack.invalid') return fallback;
    return `${probe.pathname}${probe.search}`;
  } catch {
    return fallback;
  }
}
