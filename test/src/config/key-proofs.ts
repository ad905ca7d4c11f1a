/**
 * The key-proof registry (issue 20, "every config key honest"): for each leaf key of the config schema, the
 * behavioural test that sets it to a non-default value and observes what it changes — or, until one exists, an
 * entry in `PENDING` saying why not. `key-proofs.test.ts` enumerates the keys from the schema itself, so a new key
 * fails until it is listed here, and checks every proof still points at a test that names the key.
 *
 * Keys are dotted snake paths as in regstack.toml; a `[oauth.providers.<name>]` table is one pattern,
 * `oauth.providers.<name>.issuer`. Files are relative to `test/`.
 */

export interface KeyProof {
  /** The test file, relative to `test/`: `src/http/cors.test.ts`. */
  readonly file: string;
  /** A substring of the title of the test (`it(…)`) that observes the key's effect. */
  readonly test: string;
}

const CORE_HTTP = 'src/http/core-http.test.ts';
const OUTAGE = 'src/http/database-outage.test.ts';
const REGISTRATION = 'src/core/registration.test.ts';
const LIFECYCLE = 'src/core/lifecycle.test.ts';
const ARGON2 = 'src/security/argon2-process.test.ts';
const PURGE = 'src/cli/purge.test.ts';
const LINKS = 'src/pages/email-links.test.ts';
const PAGES = 'src/pages/account-pages-http.test.ts';
const OIDC = 'src/oauth/oidc-signin.test.ts';
const SMTP = 'src/email/transport-from-config.test.ts';
const SES = 'src/email/ses-transport.test.ts';
const RETRY = 'src/email/outbox-retry.test.ts';
const SNS = 'src/sms/sns-transport.test.ts';
const TWILIO = 'src/sms/twilio-transport.test.ts';
const SMS_LIMITS = 'src/sms/sms-limits.test.ts';

const CORE = 'src/config/keys-core.test.ts';
const APP_MAIL = 'app_name, email.from_address and email.from_name reach the mail a user receives';
const PASSWORD_BOUNDS = 'password_min_length and password_max_length bound what register accepts';
const LIMITS = 'src/config/keys-limits.test.ts';
const THIRD_CALL = 'refuses the third call from one client';
const TOKENS = 'src/config/keys-tokens.test.ts';
const ISS_AUD = 'jwt_issuer and jwt_audience are stamped on access tokens and required of them';
const LINK_TEMPLATES = 'password_reset_url_template and email_change_url_template shape the mailed links';
const HTTP_KEYS = 'src/config/keys-http.test.ts';
const ARGON2_PARAMS =
  'argon2_memory_kib, argon2_iterations and argon2_parallelism are the parameters of the stored hash';
const SMS_KEYS = 'src/config/keys-sms.test.ts';
const EMAIL_KEYS = 'src/config/keys-email.test.ts';
const OAUTH_KEYS = 'src/config/keys-oauth.test.ts';
const GOOGLE_KEYS = 'oauth.google_client_id and oauth.google_client_secret alone configure the Google sign-in';
const EDDSA = 'jwt_algorithm and jwt_private_key: EdDSA tokens signed with the configured key';
const PAGE_BRANDING = 'theme_css_url, brand_logo_url and brand_tagline reach every page';
const OIDC_SIGNUP = 'sign-up by OIDC: a new identity makes a verified account';
const SMTP_DELIVERS = 'smtp: delivers with the configured host, port and login';
const SES_BUILT = 'is what createTransportFromConfig builds for email.backend = "ses"';
const SNS_BUILT = 'is what sms.backend = "sns" builds';
const TWILIO_BUILT = 'is what sms.backend = "twilio" builds';
const FROZEN_DB = 'a frozen database: 503 within the connect and query timeouts';

export const PROOFS: Readonly<Record<string, KeyProof>> = {
  base_url: { file: LINKS, test: 'pages on: each link of each kind opens a page' },
  trusted_proxies: { file: CORE_HTTP, test: 'behind a trusted proxy, each forwarded client has its own budget' },
  cors_origins: { file: 'src/http/cors.test.ts', test: 'answers a preflight from a listed origin itself' },
  database_url: {
    file: 'src/cli/cli-basics.test.ts',
    test: 'the file given is the one read: its database_url is used',
  },
  sqlite_synchronous: {
    file: 'src/storage/sqlite-synchronous.test.ts',
    test: 'waits for the disk at every commit when configured so',
  },
  postgres_prepared_statements: {
    file: 'src/storage/pgbouncer.test.ts',
    test: 'concurrent wrong logins from both instances lock the account',
  },
  database_pool_size: {
    file: 'src/storage/postgres-url-options.test.ts',
    test: 'holds at most database_pool_size connections',
  },
  database_connect_timeout_ms: { file: OUTAGE, test: FROZEN_DB },
  database_query_timeout_ms: { file: OUTAGE, test: FROZEN_DB },
  sqlite_busy_timeout_ms: {
    file: 'src/http/sqlite-busy.test.ts',
    test: 'a lock that ends within sqlite_busy_timeout_ms only delays the write',
  },
  jwt_secret: {
    file: 'src/security/refused-tokens.test.ts',
    test: 'a forged signature (a key regstack does not hold) is recorded as bad_signature',
  },
  jwt_ttl_seconds: { file: 'src/core/impersonation.test.ts', test: 'a shorter jwt_ttl_seconds caps the impersonation' },
  reauthentication_max_age_seconds: {
    file: 'src/oauth/oidc-reauthentication.test.ts',
    test: 'past reauthentication_max_age_seconds every sensitive change answers REAUTHENTICATION_REQUIRED, until a new sign-in',
  },
  purge_interval_seconds: {
    file: PURGE,
    test: 'the background purge (purge_interval_seconds) waits for the same lock',
  },
  audit_retention_days: { file: PURGE, test: 'audit_retention_days = 0 (the default) keeps every audit event' },
  mfa_pending_token_ttl_seconds: {
    file: 'src/pages/mfa-pages-http.test.ts',
    test: 'an expired pending sign-in goes back to sign-in with a message',
  },
  require_verification: { file: REGISTRATION, test: 'require_verification = false registers at once' },
  allow_registration: { file: REGISTRATION, test: 'allow_registration = false answers REGISTRATION_DISABLED' },
  enable_password_reset: { file: LIFECYCLE, test: 'password reset and deletion can be switched off' },
  enable_account_deletion: { file: LIFECYCLE, test: 'password reset and deletion can be switched off' },
  enable_admin_router: {
    file: 'src/core/admin.test.ts',
    test: 'enable_admin_router off: every admin procedure answers FEATURE_DISABLED',
  },
  require_mfa: {
    file: 'src/mfa/require-mfa.test.ts',
    test: 'a user without a factor reaches only me, logout and auth.mfa.*',
  },
  enable_ui_router: { file: PAGES, test: 'enable_ui_router off: no page answers' },
  enable_sms_2fa: {
    file: 'src/mfa/sms.test.ts',
    test: 'sms.start answers FEATURE_DISABLED while enable_sms_2fa is off',
  },
  hash_concurrency: { file: ARGON2, test: 'one per call when hash_concurrency is lower' },
  hash_thread_priority: { file: ARGON2, test: 'uses the configured value, and normal priority at 0' },
  login_lockout_threshold: {
    file: 'src/http/pre-account-takeover-http.test.ts',
    test: 'wrong passwords through a link lock the address',
  },
  login_rate_limit: { file: CORE_HTTP, test: 'limits logins per client' },
  shutdown_timeout_seconds: {
    file: 'src/http/graceful-shutdown.test.ts',
    test: 'a request that never completes is dropped when shutdown_timeout_seconds ends',
  },
  email_link_prefix: { file: LINKS, test: 'pages off with email_link_prefix and a hash-routed template' },
  verify_url_template: { file: LINKS, test: 'pages off with email_link_prefix and a hash-routed template' },
  brand_logo_url: { file: PAGES, test: PAGE_BRANDING },
  brand_tagline: { file: PAGES, test: PAGE_BRANDING },
  theme_css_url: { file: PAGES, test: PAGE_BRANDING },
  enable_oauth: { file: OIDC, test: OIDC_SIGNUP },
  'oauth.providers.<name>.issuer': { file: OIDC, test: OIDC_SIGNUP },
  'oauth.providers.<name>.client_id': { file: OIDC, test: OIDC_SIGNUP },
  'oauth.providers.<name>.client_secret': { file: OIDC, test: OIDC_SIGNUP },
  'oauth.auto_link_verified_emails': {
    file: OIDC,
    test: 'links to an existing verified account when the provider vouches for the address',
  },
  'oauth.allowed_redirects': {
    file: 'src/oauth/oidc-attacks.test.ts',
    test: 'an open redirect_to is refused before anything is stored; a relative path or an allowed origin is kept',
  },
  'email.backend': { file: SMTP, test: SMTP_DELIVERS },
  'email.smtp_host': { file: SMTP, test: SMTP_DELIVERS },
  'email.smtp_port': { file: SMTP, test: SMTP_DELIVERS },
  'email.smtp_username': { file: SMTP, test: SMTP_DELIVERS },
  'email.smtp_password': { file: SMTP, test: SMTP_DELIVERS },
  'email.smtp_starttls': { file: SMTP, test: 'smtp: requires STARTTLS by default (smtp_starttls = true)' },
  'email.ses_region': { file: SES, test: SES_BUILT },
  'email.ses_endpoint': { file: SES, test: SES_BUILT },
  'email.ses_access_key_id': { file: SES, test: SES_BUILT },
  'email.ses_secret_access_key': { file: SES, test: SES_BUILT },
  'email.templates_dir': {
    file: 'src/email/templates.test.ts',
    test: 'replace the parts that have a file and keep the built-in for the others',
  },
  'email.log_bodies': { file: SMTP, test: 'console (the default) prints the envelope only, unless log_bodies is on' },
  'email.outbox_lease_seconds': {
    file: 'src/email/crash-recovery.test.ts',
    test: 'a reset request acknowledged just before SIGKILL is delivered exactly once after restart',
  },
  'email.outbox_max_attempts': { file: RETRY, test: 'outbox_max_attempts is optional' },
  'email.outbox_give_up_after_seconds': {
    file: RETRY,
    test: 'past email.outbox_give_up_after_seconds a failing message is dead',
  },
  'sms.backend': { file: SNS, test: SNS_BUILT },
  'sms.from_number': { file: SNS, test: 'sends from_number as the origination number' },
  'sms.sns_region': { file: SNS, test: SNS_BUILT },
  'sms.sns_endpoint': { file: SNS, test: SNS_BUILT },
  'sms.sns_access_key_id': { file: SNS, test: SNS_BUILT },
  'sms.sns_secret_access_key': { file: SNS, test: SNS_BUILT },
  'sms.twilio_account_sid': { file: TWILIO, test: TWILIO_BUILT },
  'sms.twilio_auth_token': { file: TWILIO, test: TWILIO_BUILT },
  'sms.twilio_base_url': { file: TWILIO, test: TWILIO_BUILT },
  'sms.twilio_messaging_service_sid': {
    file: TWILIO,
    test: 'sends through a Messaging Service when twilio_messaging_service_sid is set',
  },
  'sms.allowed_country_codes': { file: SMS_LIMITS, test: 'the country allowlist refuses other destinations' },
  'sms.recipient_rate_limit': { file: SMS_LIMITS, test: 'per destination number: the (n+1)th send to one number' },
  'sms.ip_rate_limit': { file: SMS_LIMITS, test: 'per client IP: the (n+1)th send from one IP is refused' },
  'sms.user_rate_limit': { file: SMS_LIMITS, test: 'per account: the (n+1)th send for one user is refused' },
  'sms.global_rate_limit': { file: SMS_LIMITS, test: 'the global cap refuses every send past it' },
  app_name: { file: CORE, test: APP_MAIL },
  'email.from_address': { file: CORE, test: APP_MAIL },
  'email.from_name': { file: CORE, test: APP_MAIL },
  password_min_length: { file: CORE, test: PASSWORD_BOUNDS },
  password_max_length: { file: CORE, test: PASSWORD_BOUNDS },
  verification_token_ttl_seconds: {
    file: CORE,
    test: 'verification_token_ttl_seconds ends the verification link at its lifetime',
  },
  password_reset_token_ttl_seconds: {
    file: CORE,
    test: 'password_reset_token_ttl_seconds ends the reset link at its lifetime',
  },
  login_lockout_window_seconds: {
    file: CORE,
    test: 'login_lockout_window_seconds is how long a locked account stays locked',
  },
  register_rate_limit: { file: CORE, test: 'register_rate_limit caps sign-ups per client address' },
  forgot_password_rate_limit: { file: LIMITS, test: THIRD_CALL },
  resend_verification_rate_limit: { file: LIMITS, test: THIRD_CALL },
  verify_rate_limit: { file: LIMITS, test: THIRD_CALL },
  reset_password_rate_limit: { file: LIMITS, test: THIRD_CALL },
  confirm_email_change_rate_limit: { file: LIMITS, test: THIRD_CALL },
  change_password_rate_limit: { file: LIMITS, test: THIRD_CALL },
  change_email_rate_limit: { file: LIMITS, test: THIRD_CALL },
  delete_account_rate_limit: { file: LIMITS, test: THIRD_CALL },
  jwt_issuer: { file: TOKENS, test: ISS_AUD },
  jwt_audience: { file: TOKENS, test: ISS_AUD },
  jwt_previous_secrets: { file: TOKENS, test: 'jwt_previous_secrets keeps tokens signed with a retired secret valid' },
  email_change_token_ttl_seconds: {
    file: TOKENS,
    test: 'email_change_token_ttl_seconds ends the email-change link at its lifetime',
  },
  impersonation_ttl_seconds: {
    file: TOKENS,
    test: 'impersonation_ttl_seconds ends an impersonation session at its lifetime',
  },
  password_reset_url_template: { file: TOKENS, test: LINK_TEMPLATES },
  email_change_url_template: { file: TOKENS, test: LINK_TEMPLATES },
  ui_prefix: { file: TOKENS, test: 'ui_prefix moves the pages and the mailed links with them' },
  api_prefix: { file: HTTP_KEYS, test: 'api_prefix mounts the API where it says, and nowhere else' },
  max_request_body_bytes: {
    file: HTTP_KEYS,
    test: 'max_request_body_bytes refuses a body over it with 413 PAYLOAD_TOO_LARGE',
  },
  static_prefix: { file: HTTP_KEYS, test: 'static_prefix serves the pages’ assets under it' },
  cookie_name: { file: HTTP_KEYS, test: 'cookie_name names the pages’ cookies' },
  argon2_memory_kib: { file: CORE, test: ARGON2_PARAMS },
  argon2_iterations: { file: CORE, test: ARGON2_PARAMS },
  argon2_parallelism: { file: CORE, test: ARGON2_PARAMS },
  'email.recipient_rate_limit': { file: CORE, test: 'email.recipient_rate_limit caps the mail one address receives' },
  cookie_same_site: { file: HTTP_KEYS, test: 'cookie_same_site sets the SameSite attribute' },
  sms_code_max_attempts: {
    file: SMS_KEYS,
    test: 'sms_code_max_attempts is the number of wrong guesses that kill a code',
  },
  sms_code_ttl_seconds: { file: SMS_KEYS, test: 'sms_code_ttl_seconds is the lifetime of a texted code' },
  phone_start_rate_limit: { file: SMS_KEYS, test: 'phone_start_rate_limit caps phone enrolment starts per client' },
  phone_confirm_rate_limit: {
    file: SMS_KEYS,
    test: 'phone_confirm_rate_limit caps phone enrolment confirmations per client',
  },
  mongodb_database: {
    file: 'src/config/keys-storage.test.ts',
    test: 'mongodb_database selects the database of a URL that names none',
  },
  mfa_manage_rate_limit: {
    file: SMS_KEYS,
    test: 'mfa_manage_rate_limit caps authenticator enrolment calls per client',
  },
  phone_disable_rate_limit: { file: SMS_KEYS, test: 'phone_disable_rate_limit caps phone removal calls per client' },
  login_mfa_confirm_rate_limit: {
    file: SMS_KEYS,
    test: 'login_mfa_confirm_rate_limit caps second-step guesses per client',
  },
  mfa_resend_login_code_rate_limit: {
    file: SMS_KEYS,
    test: 'mfa_resend_login_code_rate_limit caps resends of the login code',
  },
  jwt_algorithm: { file: TOKENS, test: EDDSA },
  jwt_private_key: { file: TOKENS, test: EDDSA },
  jwt_clock_tolerance_seconds: {
    file: 'src/config/keys-leeway.test.ts',
    test: 'jwt_clock_tolerance_seconds lets an access token and its session live that long past exp, and no longer',
  },
  hash_queue_limit: {
    file: 'src/config/keys-hashing.test.ts',
    test: 'hash_queue_limit sheds the logins beyond it with 503 SERVER_BUSY and Retry-After',
  },
  'email.smtp_implicit_tls': {
    file: EMAIL_KEYS,
    test: 'email.smtp_implicit_tls speaks TLS from the first byte, which an SMTPS server requires',
  },
  'email.ses_profile': {
    file: EMAIL_KEYS,
    test: 'email.ses_profile picks the shared-files profile whose key signs the SES request',
  },
  'email.outbox_poll_interval_ms': {
    file: EMAIL_KEYS,
    test: 'email.outbox_poll_interval_ms is how long a due mail waits for the worker',
  },
  oauth_prefix: { file: OAUTH_KEYS, test: 'oauth_prefix moves the sign-in routes and the registered callback' },
  oauth_exchange_rate_limit: {
    file: OAUTH_KEYS,
    test: 'oauth_exchange_rate_limit caps exchanges and sign-in starts per client',
  },
  'oauth.providers.<name>.scopes': {
    file: OAUTH_KEYS,
    test: 'oauth.providers.<name>.scopes is what the authorization request asks for and the ID token grants',
  },
  'oauth.providers.<name>.tenant': {
    file: OAUTH_KEYS,
    test: 'oauth.providers.<name>.tenant builds the Microsoft issuer the sign-in discovers and goes to',
  },
  'oauth.google_client_id': { file: OAUTH_KEYS, test: GOOGLE_KEYS },
  'oauth.google_client_secret': { file: OAUTH_KEYS, test: GOOGLE_KEYS },
  'oauth.state_ttl_seconds': {
    file: OAUTH_KEYS,
    test: 'oauth.state_ttl_seconds ends a started sign-in at its lifetime',
  },
  'oauth.completion_ttl_seconds': {
    file: OAUTH_KEYS,
    test: 'oauth.completion_ttl_seconds ends the one-time completion id at its lifetime',
  },
  'sms.log_bodies': {
    file: 'src/config/keys-transports.test.ts',
    test: 'sms.log_bodies prints the SMS body on the console transport only when on',
  },
};

/**
 * Keys with no behavioural proof yet, each with why. A key here must not also have a proof. Empty: every key of the
 * schema is proved (issue 20); a new key goes into PROOFS with its test, or here only with a reason.
 */
export const PENDING: Readonly<Record<string, string>> = {};
