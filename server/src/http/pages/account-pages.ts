/**
 * The account pages under `ui_prefix` (`enable_ui_router`): plain GET pages and POST forms, POST-redirect-GET,
 * working without JavaScript. Every action runs the very tRPC procedure the API exposes, through a server-side
 * caller (`auth.login`, `auth.account.changePassword`, …): the same input schemas, the same services, the same
 * rules — the pages only present them. A signed-in page's caller carries the session cookie's access token as its
 * bearer credential, so the cookie is checked exactly as a bearer token is (revocation, cutoff, active user, R37,
 * R40), while the tRPC endpoint itself never reads a cookie.
 *
 * Every POST passes the origin check and its CSRF token (R57, page-session.ts, security/page-csrf.ts) before any
 * procedure runs; a failure answers 403 CSRF_CHECK_FAILED and changes nothing. Every response carries a strict CSP
 * without inline code, `frame-ancestors 'none'`, `no-referrer`, `no-store` and `nosniff` (R59). Mailed links land
 * here with `?token=`: the token goes into a short-lived HttpOnly cookie and a redirect takes it out of the address
 * bar (R29). Sign-in redirects only to a path on this origin (R60). With `enable_oauth`, sign-in with a provider
 * has its buttons, its `/oauth-complete` page and the "Connected accounts" card (oauth-pages.ts).
 */
import type { AccountMe, SessionInfo } from '@regstack/shared';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import type { VNode } from 'preact';
import type { RegstackConfig } from '../../config/index.ts';
import { regstackRouter } from '../../routers/auth.ts';
import { createPageCsrf, newPreSessionValue } from '../../security/page-csrf.ts';
import type { RegstackRuntime } from '../../trpc/context.ts';
import { describeError } from '../../trpc/error-formatter.ts';
import { t } from '../../trpc/init.ts';
import type { ClientIpResolver } from '../client-ip.ts';
import { ADMIN_POSTS, createAdminPages } from './admin-pages.ts';
import { renderDocument } from './html.ts';
import {
  CURRENT_PASSWORD_WRONG,
  messageFor,
  type NoticePage,
  noticeFor,
  oauthErrorMessage,
  sentence,
  WRONG_SIGNUP_PASSWORD,
} from './messages.ts';
import {
  type AccountStateWithMfa,
  createMfaPages,
  MFA_ACCOUNT_GET_PAGES,
  MFA_ACCOUNT_POSTS,
  MFA_CONFIRM_PAGE,
} from './mfa-pages.ts';
import {
  type ConnectedState,
  createOAuthPages,
  OAUTH_ACCOUNT_POSTS,
  OAUTH_COMPLETE_PAGE,
  pageOAuthOf,
} from './oauth-pages.ts';
import { createPageCookies, isSameOriginPost, safeRedirectPath } from './page-session.ts';
import { type AccountForm, type AccountPageConfig, accountPage } from './views-account.ts';
import { oauthCompletePage } from './views-oauth.ts';
import {
  type FormState,
  forgotPage,
  type LinkPageName,
  linkPage,
  loginPage,
  messagePage,
  registerPage,
} from './views-public.ts';

export interface AccountPagesDeps {
  config: RegstackConfig;
  runtime: RegstackRuntime;
  ipResolver: ClientIpResolver;
}

export interface AccountPages {
  /** The page's response, or null when `path` (canonical) is not a page. */
  handle(request: Request, path: string, remoteAddress: string | null): Promise<Response | null>;
  /** The methods a page path takes (for 405 `Allow`), or null when it is not a page. */
  methodsOf(path: string): string | null;
}

type Described = ReturnType<typeof describeError>;
type Outcome<T> = { ok: true; value: T } | { ok: false; error: Described; status: number };

const LINK_PAGES: readonly LinkPageName[] = ['verify', 'reset', 'confirm-email-change'];
const GET_PAGES = new Set([
  '',
  '/login',
  '/register',
  '/forgot',
  '/me',
  ...LINK_PAGES.map((n) => `/${n}`),
  MFA_CONFIRM_PAGE,
  ...MFA_ACCOUNT_GET_PAGES,
]);
const POST_ONLY = new Set([
  '/logout',
  '/me/profile',
  '/me/password',
  '/me/email',
  '/me/sessions/revoke',
  '/me/sessions/revoke-all',
  '/me/delete',
  ...MFA_ACCOUNT_POSTS,
]);
/** The pages of sign-in with a provider: only with `enable_oauth`. */
const OAUTH_GET_PAGES = new Set([OAUTH_COMPLETE_PAGE]);
const OAUTH_POSTS = new Set<string>(OAUTH_ACCOUNT_POSTS);
const POST_TOO = new Set(['/login', '/register', '/forgot', ...LINK_PAGES.map((n) => `/${n}`), MFA_CONFIRM_PAGE]);
/** A mailed token's shape (security/one-time-tokens.ts); anything else is never stored. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{20,128}$/;

/** The `Content-Security-Policy` of every page: own origin only, plus the origins of a configured theme and logo. */
export function pageContentSecurityPolicy(config: Pick<RegstackConfig, 'themeCssUrl' | 'brandLogoUrl'>): string {
  const originOf = (url: string | undefined) => {
    if (!url) return '';
    try {
      const parsed = new URL(url);
      return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? ` ${parsed.origin}` : '';
    } catch {
      return ''; // a path: the pages' own origin
    }
  };
  return (
    `default-src 'self'; script-src 'none'; style-src 'self'${originOf(config.themeCssUrl)}; ` +
    `img-src 'self' data:${originOf(config.brandLogoUrl)}; form-action 'self'; base-uri 'none'; ` +
    `frame-ancestors 'none'; object-src 'none'`
  );
}

/** The headers of every page and of the development index (R59). */
export function pageHeaders(config: Pick<RegstackConfig, 'themeCssUrl' | 'brandLogoUrl' | 'baseUrl'>) {
  return {
    'content-security-policy': pageContentSecurityPolicy(config),
    // `same-origin`, not `no-referrer`: a page's address reaches no other site, and a form posted from it still
    // carries its `Origin` (under `no-referrer` browsers send `Origin: null`). No page address holds a token: the
    // link's landing redirect, which does, is sent with `no-referrer` (R29).
    'referrer-policy': 'same-origin',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    ...(config.baseUrl.startsWith('https:') && { 'strict-transport-security': 'max-age=31536000' }),
  };
}

function pageSubPath(ui: string, path: string): string | null {
  if (path === ui) return '';
  return path.startsWith(`${ui}/`) ? path.slice(ui.length) : null;
}

/**
 * The methods the page at `path` takes (for 405 `Allow`), or null when `path` is not a page under `ui`. The admin
 * page exists only with `enable_admin_router` (`admin`), the provider sign-in pages only with `enable_oauth`
 * (`oauth`).
 */
export function pageMethods(uiPrefix: string, path: string, admin = false, oauth = false): string | null {
  const sub = pageSubPath(uiPrefix.replace(/\/+$/, ''), path);
  if (sub === null) return null;
  if (OAUTH_GET_PAGES.has(sub)) return oauth ? 'GET, HEAD' : null;
  if (OAUTH_POSTS.has(sub)) return oauth ? 'POST' : null;
  if (sub === '/admin' || sub.startsWith('/admin/')) {
    if (!admin) return null;
    return sub === '/admin' ? 'GET, HEAD' : ADMIN_POSTS.has(sub) ? 'POST' : null;
  }
  if (POST_ONLY.has(sub)) return 'POST';
  if (POST_TOO.has(sub)) return 'GET, HEAD, POST';
  return GET_PAGES.has(sub) ? 'GET, HEAD' : null;
}

export function createAccountPages(deps: AccountPagesDeps): AccountPages {
  const { config, runtime, ipResolver } = deps;
  const ui = config.uiPrefix.replace(/\/+$/, '');
  const cookies = createPageCookies(config);
  const csrf = createPageCsrf(config.jwtSecret);
  const createCaller = t.createCallerFactory(regstackRouter);
  const headers = pageHeaders(config);
  const pageConfig: AccountPageConfig = {
    appName: config.appName,
    uiPrefix: ui,
    staticPrefix: config.staticPrefix.replace(/\/+$/, ''),
    brandLogoUrl: config.brandLogoUrl,
    brandTagline: config.brandTagline,
    themeCssUrl: config.themeCssUrl,
    passwordMinLength: config.passwordMinLength,
    passwordMaxLength: config.passwordMaxLength,
    allowRegistration: config.allowRegistration,
    enablePasswordReset: config.enablePasswordReset,
    enableAccountDeletion: config.enableAccountDeletion,
    adminHref: config.enableAdminRouter ? `${ui}/admin` : undefined,
    oauth: pageOAuthOf(config),
  };

  function respond(status: number, body: VNode | null, setCookies: string[] = [], head = false): Response {
    const response = new Response(body && !head ? renderDocument(body) : null, {
      status,
      headers: { 'content-type': 'text/html; charset=utf-8', ...headers },
    });
    for (const c of setCookies) response.headers.append('set-cookie', c);
    return response;
  }

  function redirect(location: string, setCookies: string[] = []): Response {
    const response = new Response(null, { status: 303, headers: { location, ...headers } });
    for (const c of setCookies) response.headers.append('set-cookie', c);
    return response;
  }

  function refused(text: string, status = 403): Response {
    return respond(status, messagePage(pageConfig, 'Request refused', text));
  }

  /** A caller of the regstack procedures as this browser: its client address, and its session if any. */
  function callerFor(request: Request, remoteAddress: string | null, sessionToken?: string, oauthBinding?: string) {
    const ip = ipResolver.resolve(remoteAddress, request.headers.get('x-forwarded-for'));
    const userAgent = request.headers.get('user-agent');
    const callHeaders = new Headers();
    if (userAgent) callHeaders.set('user-agent', userAgent);
    // The cookie's token goes through the bearer path (procedures.ts → sessions.authenticate): one rule for both.
    if (sessionToken !== undefined) callHeaders.set('authorization', `Bearer ${sessionToken}`);
    return createCaller({
      regstack: {
        runtime,
        request: { ip, userAgent, limitKey: ip ? ipResolver.limitKey(ip) : null },
        headers: callHeaders,
        resHeaders: undefined,
        // Only the completion page passes the browser's sign-in binding cookie: its exchange is then bound to it.
        ...(oauthBinding !== undefined && { oauthBrowserBinding: oauthBinding }),
      },
    });
  }

  async function attempt<T>(work: () => Promise<T>): Promise<Outcome<T>> {
    try {
      return { ok: true, value: await work() };
    } catch (err) {
      if (!(err instanceof TRPCError)) throw err;
      if (err.code === 'INTERNAL_SERVER_ERROR') runtime.logger.error('page action failed', { err: err.cause ?? err });
      return { ok: false, error: describeError(err), status: getHTTPStatusCodeFromError(err) };
    }
  }

  /**
   * The messages of a refused form: each field error next to its field (`aliases` renames a procedure's field to the
   * form's), anything else on top. Codes worded by rule (validation, password policy) keep the server's reason.
   */
  function formStateOf(error: Described, fields: readonly string[], aliases: Record<string, string> = {}): FormState {
    const fieldErrors: Record<string, string[]> = {};
    // A re-authentication that failed belongs next to the current-password field, in its own words.
    if (error.regstackCode === 'INVALID_CREDENTIALS' && fields.includes('currentPassword')) {
      return { fieldErrors: { currentPassword: [CURRENT_PASSWORD_WRONG] } };
    }
    const leftover: string[] = [];
    for (const [key, messages] of Object.entries(error.fieldErrors ?? {})) {
      const field = aliases[key] ?? key;
      const texts =
        error.regstackCode === 'VALIDATION_FAILED' || error.regstackCode?.startsWith('PASSWORD_TOO')
          ? messages.map(sentence)
          : [messageFor({ ...error, message: messages[0] ?? error.message })];
      if (fields.includes(field)) fieldErrors[field] = [...(fieldErrors[field] ?? []), ...texts];
      else leftover.push(...texts);
    }
    const any = Object.keys(fieldErrors).length > 0;
    const formError = leftover.length ? leftover.join(' ') : any ? undefined : messageFor(error);
    return { fieldErrors, ...(formError && { formError }) };
  }

  async function readForm(request: Request): Promise<URLSearchParams | Response> {
    const type = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') return refused('Send this form from its page.', 415);
    const declared = Number(request.headers.get('content-length') ?? '');
    if (Number.isFinite(declared) && declared > config.maxRequestBodyBytes) {
      return refused('That was too much to send.', 413);
    }
    const text = await request.text();
    if (Buffer.byteLength(text) > config.maxRequestBodyBytes) return refused('That was too much to send.', 413);
    return new URLSearchParams(text);
  }

  /** The pre-session cookie's value, minting one (and its `Set-Cookie`) for a browser that has none yet. */
  function preSession(request: Request, setCookies: string[]): string {
    const existing = cookies.read(request).preSession;
    if (existing) return existing;
    const value = newPreSessionValue();
    setCookies.push(cookies.setPreSession(value));
    return value;
  }

  const status = (url: URL, page: NoticePage) => noticeFor(page, url.searchParams.get('status'));

  // The admin page and impersonation (admin-pages.ts): only with `enable_admin_router`.
  const admin = config.enableAdminRouter
    ? createAdminPages({ config, chrome: pageConfig, cookies, csrf, callerFor, attempt, respond, redirect })
    : null;

  // ---- signed-out pages -------------------------------------------------------------------------------------

  function getPublic(request: Request, url: URL, sub: string, head: boolean): Response {
    const setCookies: string[] = [];
    const token = csrf.tokenFor({ kind: 'pre-session', value: preSession(request, setCookies) });
    switch (sub) {
      case '/login': {
        const next = safeRedirectPath(url.searchParams.get('next'), '') || null;
        return respond(200, loginPage(pageConfig, token, next, { notice: status(url, 'login') }), setCookies, head);
      }
      case '/register':
        return respond(200, registerPage(pageConfig, token, { notice: status(url, 'register') }), setCookies, head);
      case '/forgot':
        return respond(200, forgotPage(pageConfig, token, { notice: status(url, 'forgot') }), setCookies, head);
      case MFA_CONFIRM_PAGE:
        return mfa.getConfirm(request, url, token, setCookies, head);
    }
    const name = sub.slice(1) as LinkPageName;
    const fromLink = url.searchParams.get('token');
    if (fromLink !== null) {
      // R29: the token leaves the address bar (and so history and any Referer) at once, JavaScript or not.
      if (TOKEN_SHAPE.test(fromLink)) setCookies.push(cookies.setLink(`${name}~${fromLink}`));
      else setCookies.push(cookies.clear(cookies.linkName));
      const landing = redirect(`${ui}/${name}`, setCookies);
      landing.headers.set('referrer-policy', 'no-referrer');
      return landing;
    }
    const hasToken = linkToken(request, name) !== null;
    return respond(200, linkPage(pageConfig, name, token, { hasToken }, {}), setCookies, head);
  }

  function linkToken(request: Request, name: LinkPageName): string | null {
    const value = cookies.read(request).link;
    if (!value?.startsWith(`${name}~`)) return null;
    const token = value.slice(name.length + 1);
    return TOKEN_SHAPE.test(token) ? token : null;
  }

  async function postPublic(request: Request, sub: string, form: URLSearchParams, remote: string | null) {
    const caller = callerFor(request, remote);
    const token = csrf.tokenFor({ kind: 'pre-session', value: cookies.read(request).preSession ?? '' });
    const text = (name: string) => form.get(name) ?? '';
    switch (sub) {
      case '/login': {
        const next = safeRedirectPath(form.get('next'), '') || null;
        const email = text('email');
        const result = await attempt(() => caller.login({ email, password: text('password') }));
        if (!result.ok) {
          const state = { ...formStateOf(result.error, ['email', 'password']), values: { email } };
          return respond(result.status, loginPage(pageConfig, token, next, state));
        }
        if (result.value.status === 'mfa_required') return mfa.startSecondStep(result.value, next);
        return redirect(next ?? `${ui}/me`, [cookies.setSession(result.value.accessToken, result.value.expiresIn)]);
      }
      case '/register': {
        const values = { email: text('email'), fullName: text('fullName') };
        const input = {
          email: values.email,
          password: text('password'),
          ...(values.fullName.trim() && { fullName: values.fullName }),
        };
        const result = await attempt(() => caller.register(input));
        if (!result.ok) {
          const state = { ...formStateOf(result.error, ['email', 'password', 'fullName']), values };
          return respond(result.status, registerPage(pageConfig, token, state));
        }
        return redirect(
          result.value.status === 'registered' ? `${ui}/login?status=registered` : `${ui}/register?status=sent`,
        );
      }
      case '/forgot': {
        const email = text('email');
        const result = await attempt(() => caller.forgotPassword({ email }));
        if (!result.ok) {
          const state = { ...formStateOf(result.error, ['email']), values: { email } };
          return respond(result.status, forgotPage(pageConfig, token, state));
        }
        return redirect(`${ui}/forgot?status=sent`);
      }
      case MFA_CONFIRM_PAGE:
        return mfa.postConfirm(request, form, remote, token);
    }
    const name = sub.slice(1) as LinkPageName;
    const linkValue = linkToken(request, name);
    if (linkValue === null) return respond(400, linkPage(pageConfig, name, token, { hasToken: false }, {}));
    const done = (status: string) =>
      redirect(`${ui}/login?status=${status}`, [cookies.clear(cookies.linkName), cookies.clear(cookies.sessionName)]);
    if (name === 'verify') {
      const password = text('password');
      const result = await attempt(() =>
        caller.verifyEmail({ token: linkValue, ...(password !== '' && { password }) }),
      );
      if (result.ok) return redirect(`${ui}/login?status=verified`, [cookies.clear(cookies.linkName)]);
      const code = result.error.regstackCode;
      const askPassword = code === 'PASSWORD_REQUIRED' || (code === 'INVALID_CREDENTIALS' && password !== '');
      const state: FormState =
        code === 'INVALID_CREDENTIALS'
          ? {
              fieldErrors: { password: [WRONG_SIGNUP_PASSWORD] },
            }
          : code === 'PASSWORD_REQUIRED'
            ? { formError: messageFor(result.error) }
            : formStateOf(result.error, ['password']);
      return respond(result.status, linkPage(pageConfig, name, token, { hasToken: true, askPassword }, state));
    }
    if (name === 'reset') {
      const result = await attempt(() => caller.resetPassword({ token: linkValue, newPassword: text('newPassword') }));
      if (result.ok) return done('reset');
      const state = formStateOf(result.error, ['newPassword'], { password: 'newPassword' });
      return respond(result.status, linkPage(pageConfig, name, token, { hasToken: true }, state));
    }
    const result = await attempt(() => caller.account.confirmEmailChange({ token: linkValue }));
    if (result.ok) return done('email_changed');
    return respond(result.status, linkPage(pageConfig, name, token, { hasToken: true }, formStateOf(result.error, [])));
  }

  // ---- the signed-in account page ----------------------------------------------------------------------------

  async function toLogin(hadSession: boolean, request?: Request): Promise<Response> {
    // An impersonation that ended (expired, revoked) hands the browser back to the administrator it came from.
    const restored = request && (await admin?.restoreAdmin(request));
    if (restored) return restored;
    const next = encodeURIComponent(`${ui}/me`);
    return redirect(`${ui}/login?next=${next}${hadSession ? '&status=session_ended' : ''}`, [
      cookies.clear(cookies.sessionName),
    ]);
  }

  async function renderAccount(
    request: Request,
    remote: string | null,
    session: string,
    state: AccountStateWithMfa & ConnectedState,
    httpStatus: number,
    head = false,
  ): Promise<Response> {
    const caller = callerFor(request, remote, session);
    const loaded = await attempt(async () => {
      const user: AccountMe = await caller.account.me();
      const mfaStatus = await caller.mfa.status();
      // A session that must enrol a factor first (require_mfa) may not list sessions: it gets the enrolment screen.
      const restricted = mfaStatus.required && !mfaStatus.enabled;
      const sessions: SessionInfo[] | null = restricted ? null : await caller.account.sessions();
      const providers = oauth && !restricted ? (await caller.oauth.providers()).providers : null;
      const reauth = await caller.account.reauthentication();
      return { user, sessions, mfaStatus, providers, reauth };
    });
    if (!loaded.ok) {
      if (loaded.error.regstackCode === 'UNAUTHENTICATED') return toLogin(true, request);
      return respond(loaded.status, messagePage(pageConfig, 'Your account', messageFor(loaded.error)), [], head);
    }
    const token = csrf.tokenFor({ kind: 'session', value: session });
    const { user, sessions, mfaStatus, providers, reauth } = loaded.value;
    if (sessions === null) return respond(httpStatus, mfa.enrolmentPage(token, mfaStatus, state, reauth), [], head);
    const impersonation = admin?.bannerFor(user, session);
    const twoFactor = mfa.card(token, mfaStatus, state.mfaFailed, reauth);
    const connected = oauth && providers ? oauth.card(token, providers, state) : undefined;
    return respond(
      httpStatus,
      accountPage({ ...pageConfig, impersonation }, token, user, sessions, { ...state, twoFactor, connected, reauth }),
      [],
      head,
    );
  }

  async function postAccount(
    request: Request,
    sub: string,
    form: URLSearchParams,
    remote: string | null,
    session: string,
  ): Promise<Response> {
    const caller = callerFor(request, remote, session);
    const text = (name: string) => form.get(name) ?? '';
    // Absent for an account without a password (its recent sign-in stands in, account.reauthentication).
    const currentPassword = text('currentPassword') || undefined;
    const back = (key: string, setCookies: string[] = []) => redirect(`${ui}/me?status=${key}`, setCookies);
    const signedOut = (key: string) => redirect(`${ui}/login?status=${key}`, [cookies.clear(cookies.sessionName)]);
    if (sub.startsWith('/me/mfa/')) return mfa.postAccount(request, sub, form, remote, session);
    if (oauth && OAUTH_POSTS.has(sub)) return oauth.postAccount(request, sub, form, remote, session);
    const fail = async (
      result: { error: Described; status: number },
      formName: AccountForm,
      fields: string[],
      aliases?: Record<string, string>,
    ) => {
      if (result.error.regstackCode === 'UNAUTHENTICATED') return toLogin(true, request);
      const failed = { form: formName, ...formStateOf(result.error, fields, aliases) };
      return renderAccount(
        request,
        remote,
        session,
        { failed: { ...failed, fieldErrors: failed.fieldErrors ?? {} } },
        result.status,
      );
    };
    switch (sub) {
      case '/logout': {
        // Signing out of an impersonation ends it and returns to the administrator's own session.
        const restored = await admin?.restoreAdmin(request, caller);
        if (restored) return restored;
        // Signed out either way: an already dead session leaves nothing to end.
        await attempt(() => caller.logout());
        const out = signedOut('signed_out');
        if (admin) out.headers.append('set-cookie', admin.clearKept);
        return out;
      }
      case '/me/profile': {
        const fullName = text('fullName').trim();
        const result = await attempt(() => caller.account.update({ fullName: fullName === '' ? null : fullName }));
        return result.ok ? back('profile_saved') : fail(result, 'profile', ['fullName']);
      }
      case '/me/password': {
        const result = await attempt(() =>
          caller.account.changePassword({ currentPassword, newPassword: text('newPassword') }),
        );
        if (!result.ok)
          return fail(result, 'password', ['currentPassword', 'newPassword'], { password: 'newPassword' });
        // Every earlier session died with the change (R41); this browser carries on with the new one.
        return back('password_changed', [cookies.setSession(result.value.accessToken, result.value.expiresIn)]);
      }
      case '/me/email': {
        const result = await attempt(() => caller.account.changeEmail({ newEmail: text('newEmail'), currentPassword }));
        return result.ok ? back('email_sent') : fail(result, 'email', ['newEmail', 'currentPassword']);
      }
      case '/me/sessions/revoke': {
        const result = await attempt(() => caller.account.revokeSession({ id: text('id') }));
        return result.ok ? back('session_revoked') : fail(result, 'sessions', []);
      }
      case '/me/sessions/revoke-all': {
        const result = await attempt(() => caller.logoutAll());
        return result.ok ? signedOut('signed_out_everywhere') : fail(result, 'sessions', []);
      }
      default: {
        // '/me/delete'
        const result = await attempt(() => caller.account.delete({ currentPassword }));
        return result.ok ? signedOut('deleted') : fail(result, 'delete', ['currentPassword']);
      }
    }
  }

  // ---- two-factor (mfa-pages.ts), with this module's caller, responses and forms ------------------------------

  const mfa = createMfaPages({
    config,
    pageConfig,
    ui,
    cookies,
    callerFor,
    attempt,
    formStateOf,
    respond,
    redirect,
    sessionCsrf: (session) => csrf.tokenFor({ kind: 'session', value: session }),
    renderAccount,
    toLogin,
  });

  // ---- sign-in with a provider (oauth-pages.ts): the buttons, `/oauth-complete`, "Connected accounts" -----------

  const oauth = pageConfig.oauth
    ? createOAuthPages(
        {
          config,
          pageConfig,
          ui,
          cookies,
          callerFor,
          attempt,
          respond,
          redirect,
          startSecondStep: (result, next) => mfa.startSecondStep(result, next),
          renderAccount,
          toLogin,
        },
        pageConfig.oauth,
      )
    : null;

  // ---- dispatch ----------------------------------------------------------------------------------------------

  const subPath = (path: string) => pageSubPath(ui, path);
  const methodsOf = (path: string) => pageMethods(ui, path, config.enableAdminRouter, config.enableOauth);

  return {
    methodsOf,
    async handle(request, path, remote) {
      const sub = subPath(path);
      const allowed = methodsOf(path);
      if (sub === null || allowed === null) return null;
      const method = request.method;
      if (!allowed.split(', ').includes(method)) {
        return new Response('Method Not Allowed', { status: 405, headers: { allow: allowed, ...headers } });
      }
      const url = new URL(request.url);
      const jar = cookies.read(request);
      if (method === 'GET' || method === 'HEAD') {
        const head = method === 'HEAD';
        if (sub === '') return redirect(`${ui}/me`);
        if (sub === '/me') {
          if (!jar.session) return toLogin(false, request);
          const linking = oauth?.stateFrom(url) ?? {};
          return renderAccount(request, remote, jar.session, { notice: status(url, 'me'), ...linking }, 200, head);
        }
        if (sub.startsWith('/me/mfa/')) {
          if (!jar.session) return toLogin(false, request);
          return mfa.getAccount(request, remote, jar.session, head);
        }
        if (sub === '/admin' && admin) return admin.get(request, url, remote, jar.session, head);
        if (sub === OAUTH_COMPLETE_PAGE) {
          if (oauth) return oauth.getComplete(request, url, remote, head);
          // `enable_oauth` without a configured provider: nothing can have been started, so nothing to finish.
          return respond(400, oauthCompletePage(pageConfig, oauthErrorMessage(null)), [], head);
        }
        return getPublic(request, url, sub, head);
      }
      // POST: from this origin (R57) …
      if (!isSameOriginPost(request, config.baseUrl)) {
        return refused(messageFor({ regstackCode: 'CSRF_CHECK_FAILED', message: '' }));
      }
      const form = await readForm(request);
      if (form instanceof Response) return form;
      // … and with the CSRF token of this browser's session, or of its pre-session cookie before sign-in.
      if (POST_ONLY.has(sub) || ADMIN_POSTS.has(sub) || OAUTH_POSTS.has(sub)) {
        if (!jar.session) return toLogin(false, request);
        if (!csrf.verify({ kind: 'session', value: jar.session }, form.get('csrf'))) {
          return refused(messageFor({ regstackCode: 'CSRF_CHECK_FAILED', message: '' }));
        }
        if (admin && ADMIN_POSTS.has(sub)) return admin.post(request, sub, form, remote, jar.session);
        return postAccount(request, sub, form, remote, jar.session);
      }
      if (!jar.preSession || !csrf.verify({ kind: 'pre-session', value: jar.preSession }, form.get('csrf'))) {
        return refused(messageFor({ regstackCode: 'CSRF_CHECK_FAILED', message: '' }));
      }
      return postPublic(request, sub, form, remote);
    },
  };
}
