/**
 * What the pages say: a sentence for each stable error code a page can meet (worded by code, never by matching a
 * server message — SPEC §5), and the notices a POST-redirect-GET lands on, chosen by a fixed key in the address
 * (`?status=`), never by text taken from the request (R60). Codes that are vague on purpose stay vague here
 * (INVALID_CREDENTIALS, R9).
 */
import type { ServerErrorCode } from '@regstack/shared';

const CODE_MESSAGES: Partial<Record<ServerErrorCode, string>> = {
  INVALID_CREDENTIALS: 'The email address or password is not right.',
  TOO_MANY_ATTEMPTS: 'Too many failed attempts for this account.',
  RATE_LIMITED: 'Too many requests from here.',
  UNAUTHENTICATED: 'Your session has ended. Sign in again.',
  FORBIDDEN: 'You are not allowed to do that.',
  IMPERSONATION_RESTRICTED: 'An administrator acting as this user cannot do that.',
  IMPERSONATION_NOT_ALLOWED: 'Administrators, disabled accounts and your own account cannot be impersonated.',
  NOT_IMPERSONATING: 'This session is not an impersonation.',
  USER_ALREADY_VERIFIED: 'This user has already confirmed their email address.',
  USER_NOT_FOUND: 'That user no longer exists.',
  INVALID_OR_EXPIRED_TOKEN: 'This link is invalid or has expired.',
  PASSWORD_REQUIRED: 'To confirm this sign-up is yours, enter the password you chose when you signed up.',
  EMAIL_NOT_VERIFIED: 'Confirm your email address first: follow the link we sent you.',
  REGISTRATION_DISABLED: 'Sign-up is closed on this site.',
  FEATURE_DISABLED: 'This is turned off on this site.',
  EMAIL_ALREADY_REGISTERED: 'An account with this email address already exists.',
  EMAIL_UNCHANGED: 'That is already your email address.',
  CREDENTIALS_CHANGED: 'Your password was changed meanwhile, so nothing was changed. Sign in again.',
  REAUTHENTICATION_REQUIRED:
    'To confirm it is you, enter your current password — or, for an account without one, sign in again first.',
  SESSION_NOT_FOUND: 'That session has already ended.',
  LAST_ACTIVE_ADMIN: 'You are the last active administrator: make someone else an administrator first.',
  MFA_NOT_ENABLED: 'Two-factor authentication is not enabled on this account.',
  MFA_CODE_INVALID: 'That code is not right, or it was already used.',
  MFA_CODE_EXPIRED: 'That code has expired. Ask for a new one.',
  MFA_ATTEMPTS_EXCEEDED: 'Too many wrong codes: that code no longer works. Ask for a new one.',
  MFA_CHALLENGE_INVALID: 'This sign-in has expired or was ended. Sign in again.',
  MFA_METHOD_NOT_AVAILABLE: 'That method is not set up for this account.',
  MFA_ALREADY_ENABLED: 'This is already turned on for your account.',
  MFA_ENROLMENT_NOT_STARTED: 'There is no setup waiting for a code. Start again.',
  MFA_ENROLMENT_REQUIRED: 'This site requires two-factor authentication: set it up first.',
  PHONE_NUMBER_TAKEN: 'This phone number belongs to another account.',
  SMS_DESTINATION_NOT_ALLOWED: "Text messages cannot be sent to this number's country or region.",
  CSRF_CHECK_FAILED: 'This form has expired or came from another site. Reload the page and try again.',
  OAUTH_PROVIDER_UNKNOWN: 'That sign-in provider is not available on this site.',
  OAUTH_REDIRECT_NOT_ALLOWED: 'The address to return to after signing in is not allowed.',
  OAUTH_STATE_INVALID: 'This sign-in has expired or was already completed. Start again.',
  OAUTH_BROWSER_MISMATCH:
    'This sign-in was started in another browser, or this browser did not keep its cookie. Start again here.',
  OAUTH_PROVIDER_ERROR:
    'The provider did not complete the sign-in: it was cancelled, or the provider could not be reached.',
  OAUTH_TOKEN_INVALID: "The provider's answer could not be verified. Start again.",
  OAUTH_EMAIL_MISSING: 'The provider did not give an email address, so no account can be found or made for it.',
  OAUTH_EMAIL_NOT_VERIFIED: 'The provider has not verified this email address, so it cannot be used to sign in here.',
  OAUTH_ACCOUNT_EXISTS:
    'An account with this email address already exists. Sign in with your password, then link the provider on your account page.',
  OAUTH_IDENTITY_TAKEN: 'This provider account is already linked to another account.',
  OAUTH_ALREADY_LINKED: 'Your account is already linked to this provider.',
  OAUTH_NOT_LINKED: 'Your account is not linked to this provider.',
  OAUTH_LAST_SIGN_IN_METHOD:
    'This is the only way to sign in to your account. Set a password first (under "Password" on this page, within a few minutes of signing in), then unlink it.',
  OAUTH_ACCOUNT_UNAVAILABLE: 'This account is disabled.',
  OAUTH_EXCHANGE_INVALID: 'This sign-in has expired or was already completed. Start again.',
  SERVICE_UNAVAILABLE: 'The service is unavailable right now.',
  SERVER_BUSY: 'The server is busy.',
  PAYLOAD_TOO_LARGE: 'That was too much to send.',
  INTERNAL_ERROR: 'Something went wrong on our side. Try again.',
};

/** Codes whose own (field) messages are the best words: the server's reason names the rule that failed. */
const FIELD_WORDED: ReadonlySet<string> = new Set([
  'VALIDATION_FAILED',
  'PASSWORD_TOO_SHORT',
  'PASSWORD_TOO_LONG',
  'PASSWORD_TOO_COMMON',
  'PASSWORD_CONTAINS_PERSONAL_INFO',
  'PHONE_NUMBER_INVALID',
]);

const RETRYABLE: ReadonlySet<string> = new Set([
  'TOO_MANY_ATTEMPTS',
  'RATE_LIMITED',
  'SERVER_BUSY',
  'SERVICE_UNAVAILABLE',
]);

/** Server messages carry no final period; on a page every message is a sentence. */
export function sentence(text: string): string {
  const trimmed = text.trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

function waitText(seconds: number): string {
  return seconds < 90 ? `Try again in ${seconds} seconds.` : `Try again in ${Math.ceil(seconds / 60)} minutes.`;
}

/** The page's sentence for an error: by code, with the wait when the error knows it. */
export function messageFor(error: { regstackCode?: string; message: string; retryAfterSeconds?: number }): string {
  const code = error.regstackCode;
  const known = code && Object.hasOwn(CODE_MESSAGES, code) ? CODE_MESSAGES[code as ServerErrorCode] : undefined;
  const text = known ?? (code && FIELD_WORDED.has(code) ? sentence(error.message) : 'Something went wrong. Try again.');
  if (error.retryAfterSeconds) return `${text} ${waitText(error.retryAfterSeconds)}`;
  return code && RETRYABLE.has(code) ? `${text} Try again later.` : text;
}

/** The codes a provider sign-in ends with besides `OAUTH_*` (docs/oauth.md, step 3). */
const OAUTH_OTHER_CODES: ReadonlySet<string> = new Set([
  'TOO_MANY_ATTEMPTS',
  'RATE_LIMITED',
  'REGISTRATION_DISABLED',
  'FEATURE_DISABLED',
  'INTERNAL_ERROR',
]);

/**
 * A provider sign-in's outcome from an address (`?error=CODE`): worded by one of the codes a sign-in can end with,
 * anything else by one fixed sentence — never echoed, and no other code's words (R60).
 */
export function oauthErrorMessage(code: string | null | undefined, retryAfterSeconds?: number): string {
  const known =
    code && (code.startsWith('OAUTH_') || OAUTH_OTHER_CODES.has(code)) && Object.hasOwn(CODE_MESSAGES, code);
  return known
    ? messageFor({ regstackCode: code, message: '', ...(retryAfterSeconds && { retryAfterSeconds }) })
    : OAUTH_FAILED;
}

/** Any other failure of a provider sign-in. */
export const OAUTH_FAILED = 'The sign-in with the provider did not work. Start again.';

/** The notices a redirect may land on, by page and key. */
export const NOTICES = {
  login: {
    verified: 'Your email is confirmed. Sign in to continue.',
    registered: 'Your account is ready. Sign in to continue.',
    reset: 'Your password has been changed and every session signed out. Sign in with the new password.',
    email_changed: 'Your email address has been changed. Sign in with the new address.',
    signed_out: 'You are signed out.',
    signed_out_everywhere: 'You are signed out on every device.',
    deleted: 'Your account has been deleted.',
    session_ended: 'Your session has ended. Sign in again.',
    mfa_expired: 'Your sign-in took too long or was ended. Sign in again.',
  },
  'mfa-confirm': {
    code_resent: 'We sent a new code. The earlier one no longer works.',
  },
  register: {
    sent: 'Check your inbox: we sent a link to confirm your address. It is where your account begins.',
  },
  forgot: {
    sent: 'If an account uses that address, we sent it a link to choose a new password.',
  },
  me: {
    profile_saved: 'Your profile is saved.',
    password_changed: 'Your password is changed. Every other session has been signed out.',
    email_sent: 'We sent a confirmation link to the new address. Your email changes once you follow it.',
    session_revoked: 'That session is signed out.',
    totp_enabled: 'Your authenticator app is set up. Sign-ins now ask for its code.',
    totp_disabled: 'Your authenticator app is removed.',
    sms_enabled: 'Your phone is set up. Sign-ins now send it a code.',
    sms_disabled: 'Your phone is removed from two-factor authentication.',
    oauth_unlinked: 'The provider is unlinked from your account.',
  },
} as const;

export type NoticePage = keyof typeof NOTICES;

/** The notice for `?status=key` on `page`, or undefined for any key that is not on the list. */
export function noticeFor(page: NoticePage, key: string | null): string | undefined {
  const notices: Record<string, string> = NOTICES[page];
  return key && Object.hasOwn(notices, key) ? notices[key] : undefined;
}

/** The verify page's word for a wrong sign-up password (R67): which password it wants, and why. */
export const WRONG_SIGNUP_PASSWORD =
  "That is not the password of the sign-up this link belongs to. If you signed up more than once, each email's link needs the password of its own sign-up.";

/** A change that re-checked the password got the wrong one (INVALID_CREDENTIALS on the account page). */
export const CURRENT_PASSWORD_WRONG = 'That is not your current password.';

/** Every fixed sentence above, for the punctuation rule's test. */
export function pageMessageTexts(): string[] {
  return [
    ...Object.values(CODE_MESSAGES),
    ...Object.values(NOTICES).flatMap((n) => Object.values(n)),
    WRONG_SIGNUP_PASSWORD,
    CURRENT_PASSWORD_WRONG,
    OAUTH_FAILED,
  ];
}
