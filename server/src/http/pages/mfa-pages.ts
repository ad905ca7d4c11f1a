/**
 * The two-factor pages (issue 19 with issue 18): the sign-in's second step and the account page's two-factor
 * actions. Like every page action they run the very `auth.mfa.*` procedures the API exposes, through the pages'
 * server-side caller (account-pages.ts hands over its caller, responses and form handling), so the lockout, rate
 * limits, single-use codes and re-authentication are the procedures' own.
 *
 * - The second step: when `auth.login` answers `mfa_required`, the pending token goes into an HttpOnly cookie that
 *   lives no longer than the token (`cookie_name` + `_mfa`, page-session.ts), never into an address (R50); the
 *   `mfa-confirm` page offers the account's methods, and `auth.mfa.confirmLogin` sets the session cookie exactly as
 *   a password sign-in does. A token the server refuses (expired, used, ended by a password change) — or a cookie
 *   the browser already dropped at the token's expiry — sends the browser back to sign-in with a message.
 * - Secrets shown once (the authenticator key and QR code, recovery codes) are the answer to the POST that made
 *   them, not a redirect: keeping them for a later GET would put them in a cookie or an address. Every other
 *   action is POST-redirect-GET. The responses carry `Cache-Control: no-store` like every page (R59).
 */
import {
  type ConfirmMfaLoginInput,
  type LoginResult,
  MFA_METHODS,
  type MfaEnabledResult,
  type MfaMethod,
  type MfaStatus,
  type ReauthenticationInfo,
} from '@regstack/shared';
import type { VNode } from 'preact';
import type { RegstackConfig } from '../../config/index.ts';
import type { regstackRouter } from '../../routers/auth.ts';
import type { describeError } from '../../trpc/error-formatter.ts';
import { messageFor, noticeFor } from './messages.ts';
import type { PageCookies } from './page-session.ts';
import { safeRedirectPath } from './page-session.ts';
import type { AccountPageConfig, AccountPageState } from './views-account.ts';
import {
  type MfaFailure,
  type MfaForm,
  type MfaPageConfig,
  mfaConfirmPage,
  mfaEnrolmentPage,
  recoveryCodesPage,
  smsConfirmPage,
  totpSetupPage,
  twoFactorCard,
} from './views-mfa.ts';
import type { FormState } from './views-public.ts';

/** The second step's page (GET, and POST for a code or "send a new code"); signed out. */
export const MFA_CONFIRM_PAGE = '/mfa-confirm';
/** Signed-in GET pages: the phone's confirmation (after the number was posted). */
export const MFA_ACCOUNT_GET_PAGES = ['/me/mfa/sms'] as const;
/** Signed-in POST actions. */
export const MFA_ACCOUNT_POSTS = [
  '/me/mfa/totp/start',
  '/me/mfa/totp/confirm',
  '/me/mfa/totp/disable',
  '/me/mfa/sms/start',
  '/me/mfa/sms/confirm',
  '/me/mfa/sms/disable',
  '/me/mfa/recovery-codes',
] as const;

type PageCaller = ReturnType<typeof regstackRouter.createCaller>;
type Described = ReturnType<typeof describeError>;
type Outcome<T> = { ok: true; value: T } | { ok: false; error: Described; status: number };
type MfaRequired = Extract<LoginResult, { status: 'mfa_required' }>;

/** The account page's state with a refused two-factor form. */
export type AccountStateWithMfa = AccountPageState & { mfaFailed?: MfaFailure };

/** What account-pages.ts lends: its caller, responses and form handling, so both behave as one set of pages. */
export interface MfaPageKit {
  config: RegstackConfig;
  pageConfig: AccountPageConfig;
  ui: string;
  cookies: PageCookies;
  callerFor(request: Request, remote: string | null, session?: string): PageCaller;
  attempt<T>(work: () => Promise<T>): Promise<Outcome<T>>;
  formStateOf(error: Described, fields: readonly string[], aliases?: Record<string, string>): FormState;
  respond(status: number, body: VNode | null, setCookies?: string[], head?: boolean): Response;
  redirect(location: string, setCookies?: string[]): Response;
  /** The CSRF token of the forms of a signed-in page. */
  sessionCsrf(session: string): string;
  renderAccount(
    request: Request,
    remote: string | null,
    session: string,
    state: AccountStateWithMfa,
    status: number,
  ): Promise<Response>;
  toLogin(hadSession: boolean): Promise<Response>;
}

/** What the second-step cookie holds: the pending token and what the page shows of it. */
interface PendingSignIn {
  token: string;
  methods: MfaMethod[];
  phoneHint: string | null;
}

const PENDING_TOKEN_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function encodePending(pending: PendingSignIn): string {
  return Buffer.from(JSON.stringify(pending)).toString('base64url');
}

/** The cookie's content, or null when it is missing or not ours (the server checks the token itself). */
function decodePending(value: string | undefined): PendingSignIn | null {
  if (!value) return null;
  try {
    const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as Partial<PendingSignIn>;
    if (typeof parsed.token !== 'string' || !PENDING_TOKEN_SHAPE.test(parsed.token)) return null;
    const methods = Array.isArray(parsed.methods)
      ? MFA_METHODS.filter((m) => (parsed.methods as unknown[]).includes(m))
      : [];
    if (methods.length === 0) return null;
    const phoneHint = typeof parsed.phoneHint === 'string' ? parsed.phoneHint.slice(0, 64) : null;
    return { token: parsed.token, methods, phoneHint };
  } catch {
    return null;
  }
}

/** Codes about the code typed: shown next to the code field. */
const CODE_ERRORS: ReadonlySet<string> = new Set(['MFA_CODE_INVALID', 'MFA_CODE_EXPIRED', 'MFA_ATTEMPTS_EXCEEDED']);

export function createMfaPages(kit: MfaPageKit) {
  const { config, ui, cookies } = kit;
  const pageConfig: MfaPageConfig = { ...kit.pageConfig, enableSms2fa: config.enableSms2fa };

  /** A refused form's messages, a wrong code next to the code field. */
  function stateOf(error: Described, fields: readonly string[]): FormState {
    if (error.regstackCode && CODE_ERRORS.has(error.regstackCode) && fields.includes('code')) {
      return { fieldErrors: { code: [messageFor(error)] } };
    }
    return kit.formStateOf(error, fields);
  }

  const nextQuery = (next: string | null, sep: '?' | '&') => (next ? `${sep}next=${encodeURIComponent(next)}` : '');

  /** Back to sign-in: the second step is gone (expired, used, ended), so is its cookie. */
  function expired(next: string | null): Response {
    return kit.redirect(`${ui}/login?status=mfa_expired${nextQuery(next, '&')}`, [cookies.clear(cookies.mfaName)]);
  }

  function methodOf(candidate: string | null, pending: PendingSignIn): MfaMethod {
    const wanted = pending.methods.find((m) => m === candidate);
    return wanted ?? (pending.methods[0] as MfaMethod);
  }

  return {
    /** `auth.login` answered `mfa_required`: keep the pending token server-side (a cookie) and ask for the code. */
    startSecondStep(result: MfaRequired, next: string | null): Response {
      const value = encodePending({
        token: result.mfaPendingToken,
        methods: result.methods,
        phoneHint: result.phoneHint,
      });
      return kit.redirect(`${ui}${MFA_CONFIRM_PAGE}${nextQuery(next, '?')}`, [cookies.setMfa(value, result.expiresIn)]);
    },

    getConfirm(request: Request, url: URL, csrf: string, setCookies: string[], head: boolean): Response {
      const next = safeRedirectPath(url.searchParams.get('next'), '') || null;
      const pending = decodePending(cookies.read(request).mfa);
      if (!pending) return expired(next);
      const step = { ...pending, method: methodOf(url.searchParams.get('method'), pending), next };
      const notice = noticeFor('mfa-confirm', url.searchParams.get('status'));
      return kit.respond(200, mfaConfirmPage(pageConfig, csrf, step, { notice }), setCookies, head);
    },

    async postConfirm(request: Request, form: URLSearchParams, remote: string | null, csrf: string) {
      const next = safeRedirectPath(form.get('next'), '') || null;
      const pending = decodePending(cookies.read(request).mfa);
      if (!pending) return expired(next);
      const method = methodOf(form.get('method'), pending);
      const step = { ...pending, method, next };
      const caller = kit.callerFor(request, remote);
      if (form.get('resend') !== null) {
        const sent = await kit.attempt(() => caller.mfa.resendLoginCode({ mfaPendingToken: pending.token }));
        if (sent.ok)
          return kit.redirect(`${ui}${MFA_CONFIRM_PAGE}?method=sms&status=code_resent${nextQuery(next, '&')}`);
        if (sent.error.regstackCode === 'MFA_CHALLENGE_INVALID') return expired(next);
        return kit.respond(sent.status, mfaConfirmPage(pageConfig, csrf, step, { formError: messageFor(sent.error) }));
      }
      const input = { mfaPendingToken: pending.token, method, code: form.get('code') ?? '' } as ConfirmMfaLoginInput;
      const result = await kit.attempt(() => caller.mfa.confirmLogin(input));
      if (result.ok) {
        // The same cookie a password-only sign-in sets (R58); the second step's cookie has done its work.
        return kit.redirect(next ?? `${ui}/me`, [
          cookies.setSession(result.value.accessToken, result.value.expiresIn),
          cookies.clear(cookies.mfaName),
        ]);
      }
      if (result.error.regstackCode === 'MFA_CHALLENGE_INVALID') return expired(next);
      return kit.respond(result.status, mfaConfirmPage(pageConfig, csrf, step, stateOf(result.error, ['code'])));
    },

    /** The account page's two-factor card. */
    card(csrf: string, status: MfaStatus, failed: MfaFailure | undefined, reauth: ReauthenticationInfo): VNode {
      return twoFactorCard(pageConfig, csrf, status, failed, reauth);
    },

    /** The screen of a session that must enrol a factor before anything else (`require_mfa`). */
    enrolmentPage(csrf: string, status: MfaStatus, state: AccountStateWithMfa, reauth: ReauthenticationInfo): VNode {
      // A refused account form (anything but two-factor answers MFA_ENROLMENT_REQUIRED here) says so on top.
      const formError = state.failed?.formError;
      return mfaEnrolmentPage(
        pageConfig,
        csrf,
        status,
        { notice: state.notice, failed: state.mfaFailed, formError },
        reauth,
      );
    },

    async getAccount(request: Request, remote: string | null, session: string, head: boolean): Promise<Response> {
      // '/me/mfa/sms': only for a live session (the procedure decides, as everywhere).
      const live = await kit.attempt(() => kit.callerFor(request, remote, session).mfa.status());
      if (!live.ok) return kit.toLogin(live.error.regstackCode === 'UNAUTHENTICATED');
      const smsPage = { ...pageConfig, smsCodeTtlSeconds: config.smsCodeTtlSeconds };
      return kit.respond(200, smsConfirmPage(smsPage, kit.sessionCsrf(session), {}), [], head);
    },

    async postAccount(
      request: Request,
      sub: string,
      form: URLSearchParams,
      remote: string | null,
      session: string,
    ): Promise<Response> {
      const caller = kit.callerFor(request, remote, session);
      const csrf = kit.sessionCsrf(session);
      const text = (name: string) => form.get(name) ?? '';
      const back = (key: string) => kit.redirect(`${ui}/me?status=${key}`);
      const fail = (result: { error: Described; status: number }, formName: MfaForm, fields: string[]) => {
        if (result.error.regstackCode === 'UNAUTHENTICATED') return kit.toLogin(true);
        const state = stateOf(result.error, fields);
        const mfaFailed = { form: formName, fieldErrors: state.fieldErrors ?? {}, formError: state.formError };
        return kit.renderAccount(request, remote, session, { mfaFailed }, result.status);
      };
      /** A factor is on: the recovery codes when this was the first factor (shown once), else back to the account. */
      const enabled = (result: MfaEnabledResult, key: string) =>
        result.recoveryCodes
          ? kit.respond(200, recoveryCodesPage(pageConfig, result.recoveryCodes, `${ui}/me?status=${key}`))
          : back(key);
      // Absent for an account without a password (its recent sign-in stands in, account.reauthentication).
      const currentPassword = text('currentPassword') || undefined;
      switch (sub) {
        case '/me/mfa/totp/start': {
          const result = await kit.attempt(() => caller.mfa.totp.start({ currentPassword }));
          if (!result.ok) return fail(result, 'totp-start', ['currentPassword']);
          return kit.respond(200, totpSetupPage(pageConfig, csrf, result.value, {}));
        }
        case '/me/mfa/totp/confirm': {
          const result = await kit.attempt(() => caller.mfa.totp.confirm({ code: text('code') }));
          if (result.ok) return enabled(result.value, 'totp_enabled');
          if (result.error.regstackCode === 'UNAUTHENTICATED') return kit.toLogin(true);
          return kit.respond(result.status, totpSetupPage(pageConfig, csrf, null, stateOf(result.error, ['code'])));
        }
        case '/me/mfa/totp/disable': {
          const result = await kit.attempt(() => caller.mfa.totp.disable({ currentPassword, code: text('code') }));
          return result.ok ? back('totp_disabled') : fail(result, 'totp-disable', ['currentPassword', 'code']);
        }
        case '/me/mfa/sms/start': {
          const result = await kit.attempt(() =>
            caller.mfa.sms.start({ phoneNumber: text('phoneNumber'), currentPassword }),
          );
          return result.ok
            ? kit.redirect(`${ui}/me/mfa/sms`)
            : fail(result, 'sms-start', ['phoneNumber', 'currentPassword']);
        }
        case '/me/mfa/sms/confirm': {
          const result = await kit.attempt(() => caller.mfa.sms.confirm({ code: text('code') }));
          if (result.ok) return enabled(result.value, 'sms_enabled');
          if (result.error.regstackCode === 'UNAUTHENTICATED') return kit.toLogin(true);
          const smsPage = { ...pageConfig, smsCodeTtlSeconds: config.smsCodeTtlSeconds };
          return kit.respond(result.status, smsConfirmPage(smsPage, csrf, stateOf(result.error, ['code'])));
        }
        case '/me/mfa/sms/disable': {
          const result = await kit.attempt(() => caller.mfa.sms.disable({ currentPassword }));
          return result.ok ? back('sms_disabled') : fail(result, 'sms-disable', ['currentPassword']);
        }
        default: {
          // '/me/mfa/recovery-codes'
          const result = await kit.attempt(() => caller.mfa.recoveryCodes.regenerate({ currentPassword }));
          if (!result.ok) return fail(result, 'recovery', ['currentPassword']);
          return kit.respond(200, recoveryCodesPage(pageConfig, result.value.recoveryCodes, `${ui}/me`));
        }
      }
    },
  };
}

export type MfaPages = ReturnType<typeof createMfaPages>;
