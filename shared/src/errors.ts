/**
 * The closed registry of regstack's error codes. A code is API: clients branch on it, hosts map it, and
 * it is never renamed or reused for another meaning — only added to (SPEC §5). Messages may change
 * freely, so nothing should ever match on them. The server converts each code to a tRPC code through one
 * exhaustive table and puts it in `error.data.regstackCode` (see `RegstackErrorData`); this module only
 * names the codes and reads them back. Errors are recognised by value, never by `instanceof`: a client
 * and a server may load different copies of a package, and errors cross the wire as plain JSON.
 * Security-sensitive codes are vague on purpose (INVALID_CREDENTIALS covers unknown user and wrong
 * password alike, R9 in SECURITY.md); the description says so where it matters.
 */

/** Every regstack error code with a one-line description of when it is raised. */
export const REGSTACK_ERROR_CODES = Object.freeze({
  VALIDATION_FAILED: 'The input did not match the schema; `fieldErrors` names each bad field (R56).',
  INVALID_CREDENTIALS: 'Email or password is wrong; deliberately does not say which (R9).',
  TOO_MANY_ATTEMPTS: 'Login is locked out after repeated failures; carries `retryAfterSeconds` (R14–R16).',
  RATE_LIMITED: 'Too many requests from this client or for this target; retry after `retryAfterSeconds` (R20, R21).',
  UNAUTHENTICATED: 'No valid access token or session: missing, expired, revoked, or the user is inactive (R37).',
  FORBIDDEN: 'Authenticated, but not allowed to do this (e.g. not an active superuser, R46).',
  INVALID_OR_EXPIRED_TOKEN: 'The one-time token is unknown, already used, expired or for another purpose (R24–R26).',
  PASSWORD_REQUIRED:
    'This verification link completes only with the password chosen at its sign-up (several sign-ups pending for the address, or a resent link); the link is not used up (R67).',
  EMAIL_NOT_VERIFIED: 'The account exists but its email address has not been verified yet.',
  REGISTRATION_DISABLED: 'Self-service registration is turned off (`allowRegistration=false`).',
  FEATURE_DISABLED: 'The procedure belongs to an optional feature that this deployment has turned off.',
  PASSWORD_TOO_SHORT: 'The new password has fewer code points than the policy minimum (R1).',
  PASSWORD_TOO_LONG: 'The password exceeds the code-point or byte maximum; rejected before hashing (R2).',
  PASSWORD_TOO_COMMON: 'The new password is on the common/breached password list (R5).',
  PASSWORD_CONTAINS_PERSONAL_INFO: 'The new password contains the email local part or the service name (R5).',
  EMAIL_ALREADY_REGISTERED:
    'The email is taken. Only raised when `require_verification` is off, where registration cannot hide it (R12).',
  EMAIL_UNCHANGED: 'The requested new email address is the current one.',
  CREDENTIALS_CHANGED:
    'The password this request re-authenticated with was changed or reset before the request committed; nothing was changed (R68).',
  REAUTHENTICATION_REQUIRED:
    'A sensitive change needs proof it is the owner: the current password for an account with one, a sign-in within `reauthentication_max_age_seconds` for an account without one (R44, R45). Nothing was changed and no try was counted.',
  MFA_CODE_INVALID:
    'The second-factor code (SMS, authenticator app or recovery code) is wrong, already used, or its time step was already used (R49).',
  MFA_CODE_EXPIRED: 'The SMS code has expired or was replaced by a newer one (R48).',
  MFA_ATTEMPTS_EXCEEDED: 'Too many wrong SMS codes; the code is dead even if the right one follows (R49).',
  MFA_NOT_ENABLED: 'Two-factor authentication (or the factor named) is not enabled on this account.',
  MFA_ALREADY_ENABLED: 'The factor is already enabled on this account; disable it first to enrol again.',
  MFA_ENROLMENT_NOT_STARTED: 'There is no enrolment to confirm: start it first (`mfa.totp.start`, `mfa.sms.start`).',
  MFA_CHALLENGE_INVALID:
    'The MFA-pending token is invalid, expired, already used, or was ended by a password change or sign-out everywhere; sign in again (R50).',
  MFA_METHOD_NOT_AVAILABLE: 'The chosen second-factor method is not enabled for this account.',
  PHONE_NUMBER_INVALID: 'The phone number is not a valid E.164 number (R52).',
  PHONE_NUMBER_TAKEN:
    'The phone number just proven is the SMS factor of another account; one number belongs to one account (R52). Only said to whoever proved they hold the number.',
  SMS_DESTINATION_NOT_ALLOWED: "The phone number's country or region is not on the SMS allowlist (toll fraud, R21).",
  USER_NOT_FOUND: 'No user with this id (admin procedures only; never raised by public procedures).',
  SESSION_NOT_FOUND: 'No session with this id belongs to the current user.',
  LAST_ACTIVE_ADMIN: 'The last active superuser cannot be demoted, disabled or deleted (R46).',
  // Admin (issue 17).
  ADMIN_PASSWORD_CONFLICT:
    'bootstrapAdmin was given a password for an existing account whose password differs; it never changes an existing password (omit it to promote the account as it is).',
  PENDING_REGISTRATION_NOT_FOUND: 'No unexpired pending sign-up for this address (admin procedures only).',
  USER_ALREADY_VERIFIED: "The user's email address is already verified; there is nothing to resend.",
  IMPERSONATION_NOT_ALLOWED:
    'The user cannot be impersonated: a superuser, a disabled account, or the acting administrator themself (R46).',
  IMPERSONATION_RESTRICTED:
    'An impersonation session cannot do this: change the password or email, delete the account, manage two-factor, end other sessions or call admin procedures.',
  MFA_ENROLMENT_REQUIRED:
    'This deployment requires a second factor (`require_mfa`) and the account has none: only `account.me`, `logout` and `auth.mfa.*` answer until one is enabled.',
  NOT_IMPERSONATING: '`auth.admin.stopImpersonating` was called with a session that is not an impersonation session.',
  // Sign-in with OpenID Connect providers (issue 22). The callback's redirect carries the code as `error=`.
  OAUTH_PROVIDER_UNKNOWN: 'No OpenID Connect provider of that name is configured.',
  OAUTH_REDIRECT_NOT_ALLOWED:
    '`redirect_to` is neither a relative path on this site nor on `oauth.allowed_redirects` (no open redirect).',
  OAUTH_STATE_INVALID:
    'The sign-in callback carried no `state`, or one that is unknown, expired or already used (replay, a forged or foreign callback).',
  OAUTH_PROVIDER_ERROR:
    'The provider refused the sign-in (the user cancelled, or the provider answered with an error) or could not be reached.',
  OAUTH_TOKEN_INVALID:
    'The ID token failed a check: signature or algorithm, issuer, audience, nonce or expiry; or the code was refused (used twice).',
  OAUTH_EMAIL_MISSING: 'The provider gave no email address for this identity; ask for the `email` scope.',
  OAUTH_EMAIL_NOT_VERIFIED:
    'The provider does not vouch for the address (`email_verified` is not true), so no account is made or matched by it.',
  OAUTH_ACCOUNT_EXISTS:
    'An account with this address exists and was not linked automatically (an address not verified on either side, or auto-linking is off): sign in and link the provider.',
  OAUTH_IDENTITY_TAKEN: 'This provider identity already belongs to another account.',
  OAUTH_ALREADY_LINKED: 'The account already has an identity at this provider.',
  OAUTH_NOT_LINKED: 'The account has no identity at this provider.',
  OAUTH_LAST_SIGN_IN_METHOD:
    'This identity is the only way to sign in to an account without a password; set a password before unlinking it.',
  OAUTH_ACCOUNT_UNAVAILABLE: 'The account this identity belongs to is disabled.',
  OAUTH_EXCHANGE_INVALID:
    'The one-time sign-in id is unknown, expired or already used; sign in with the provider again.',
  OAUTH_BROWSER_MISMATCH:
    'The sign-in was started in another browser, or this browser did not keep its binding cookie: a callback or completion address replayed elsewhere (login CSRF, RFC 9700 §4.7).',
  PAYLOAD_TOO_LARGE: 'The request body exceeds the size limit for auth procedures (R55).',
  UNSUPPORTED_MEDIA_TYPE: 'State-changing procedures accept only `application/json` (R56).',
  METHOD_NOT_ALLOWED: 'Mutations never run over GET (R56).',
  CSRF_CHECK_FAILED: 'The cookie-authenticated request failed the CSRF check (R57).',
  SERVICE_UNAVAILABLE: 'A security check could not be completed (e.g. revocation lookup failed); fails closed (R42).',
  SERVER_BUSY: 'Password hashing is saturated; the request was shed, retry after `retryAfterSeconds` (R7).',
  CONTEXT_MISSING: "A regstack procedure was called without regstack's context; build it with regstack.createContext.",
  INTERNAL_ERROR: 'An unexpected failure; the response carries no internals (R64).',
  NETWORK_ERROR:
    'Raised by @regstack/client, never by a server: no answer could be read (server down or unreachable, wrong URL, or the browser withheld it because cors_origins does not list the page origin).',
  OAUTH_RESULT_MISSING:
    "Raised by @regstack/client's `completeOAuth()`, never by a server: the URL carries no sign-in result, neither an `id` nor a regstack `error` code (the page was opened or reloaded without one).",
} as const);

/** A stable regstack error code; see `REGSTACK_ERROR_CODES` for what each one means. */
export type RegstackErrorCode = keyof typeof REGSTACK_ERROR_CODES;

/**
 * Codes the client raises itself: no answer from the server could be read, or a provider sign-in came back with no
 * result to complete. They are in the one registry so
 * `getRegstackErrorCode` reads them like any other, but a server never sends them: the server's table
 * (`TRPC_CODE_OF`) and its `RegstackError` take only `ServerErrorCode`.
 */
export const CLIENT_ERROR_CODES = Object.freeze(['NETWORK_ERROR', 'OAUTH_RESULT_MISSING'] as const);

/** A code only the client raises (see `CLIENT_ERROR_CODES`). */
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

/** A code a server raises: every regstack code but the client's own. */
export type ServerErrorCode = Exclude<RegstackErrorCode, ClientErrorCode>;

/** True when `value` is one of regstack's error codes (own keys only, so `'toString'` is not). */
export function isRegstackErrorCode(value: unknown): value is RegstackErrorCode {
  return typeof value === 'string' && Object.hasOwn(REGSTACK_ERROR_CODES, value);
}

/** What the server's error formatter adds to tRPC's `error.data` for every regstack error. */
export interface RegstackErrorData {
  /** The stable code; branch on this, never on the message. */
  regstackCode: RegstackErrorCode;
  /** Seconds until a retry can succeed: set for TOO_MANY_ATTEMPTS, RATE_LIMITED and SERVER_BUSY. */
  retryAfterSeconds?: number;
  /** Messages per input field for VALIDATION_FAILED, keyed by the field's dotted path. */
  fieldErrors?: Record<string, string[]>;
}

/**
 * Reads a property without trusting the value: anything that is not an object yields `undefined`, and a
 * throwing getter (a hostile or revoked Proxy) is treated as absent rather than escaping an error handler.
 */
function readProperty(value: unknown, key: string): unknown {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return undefined;
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/**
 * The regstack code carried by `err`, or `undefined`. Works on a `TRPCClientError` (`err.data`), on a raw
 * tRPC error shape (`err.shape.data`), on a server-side `RegstackError` (`err.code`), and on a server-side
 * `TRPCError` wrapping one (`err.cause.code`, one level only). Matching is by value (`isRegstackErrorCode`),
 * so a tRPC code such as `'BAD_REQUEST'` in `err.code` is ignored rather than mistaken for ours.
 */
export function getRegstackErrorCode(err: unknown): RegstackErrorCode | undefined {
  const candidates = [
    readProperty(readProperty(err, 'data'), 'regstackCode'),
    readProperty(readProperty(readProperty(err, 'shape'), 'data'), 'regstackCode'),
    // The cause first: a server-side tRPC error's own `code` is a tRPC code, and some (FORBIDDEN) are
    // spelled like ours while the cause carries the precise one.
    readProperty(readProperty(err, 'cause'), 'code'),
    readProperty(err, 'code'),
  ];
  return candidates.find(isRegstackErrorCode);
}
