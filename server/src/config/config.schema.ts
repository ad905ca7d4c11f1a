/**
 * regstack's configuration as one zod schema: every option's name, type, default and limit lives here and nowhere
 * else. TypeScript names are camelCase; `regstack.toml` and `REGSTACK_*` variables spell the same names in snake_case
 * (`jwtTtlSeconds` ↔ `jwt_ttl_seconds` ↔ `REGSTACK_JWT_TTL_SECONDS`, sections nest with `__`:
 * `REGSTACK_EMAIL__SMTP_HOST`). Names and defaults mirror the Python regstack 0.9.3 so its `regstack.toml` loads;
 * where its defaults or bounds are weaker than SECURITY.md, SECURITY.md wins and the field's comment says so.
 * Every object is strict: an unknown key is an error, never silently ignored.
 */
import { OAUTH_PROVIDER_NAME_MAX_LENGTH, OAUTH_PROVIDER_NAME_PATTERN } from '@regstack/shared';
import { z } from 'zod';
import { DatabaseUrlError, normalizeDatabaseUrl } from '../db/database-url.ts';
import { DEFAULT_HASHING_PRIORITY, MAX_HASH_CONCURRENCY } from '../security/password-hasher.ts';
import {
  isIpOrCidr,
  normalizeCountryCode,
  normalizeOrigin,
  parseRateLimit,
  type RateLimitRule,
} from './config-values.ts';

export type { RateLimitRule } from './config-values.ts';

/** Shortest accepted JWT master secret, in characters (R32: ≥ 256 bits). */
export const MIN_JWT_SECRET_LENGTH = 32;

/** The most failed logins per account per hour any lockout setting may allow (R14, ASVS 2.2.1). */
export const MAX_FAILED_LOGINS_PER_HOUR = 100;

/**
 * Snake-case paths of values that are secrets (or may embed one, like a database URL with a password). Their values
 * never appear in an error message or a warning.
 */
export const SECRET_CONFIG_KEYS: ReadonlySet<string> = new Set([
  'jwt_secret',
  'jwt_previous_secrets',
  'jwt_private_key',
  'database_url',
  'email.smtp_password',
  'email.ses_access_key_id',
  'email.ses_secret_access_key',
  'sms.twilio_auth_token',
  'sms.sns_access_key_id',
  'sms.sns_secret_access_key',
  'oauth.google_client_secret',
  // Every provider's secret: `*` stands for the provider's name (config-keys.ts).
  'oauth.providers.*.client_secret',
]);

const JWT_SECRET_HINT =
  'set REGSTACK_JWT_SECRET (environment or regstack.secrets.env) to at least 32 random characters, e.g. ' +
  `the output of: node -e "console.log(require('node:crypto').randomBytes(32).toString('base64url'))"`;

// argon2id cost floor: the weakest row of the OWASP table (m=7168 KiB, t=5) — every row there is "equal strength"
// to m=19456, t=2 (R6), so memory × iterations may not drop below it.
const ARGON2_MIN_COST_KIB_ITERATIONS = 7168 * 5;

/** A text rate limit (`"5/minute;30/hour"`, `"3 per 10 minutes"`, `"none"`) parsed into rules. */
const rateLimit = (defaultText: string) =>
  z
    .string()
    .transform((text, ctx): RateLimitRule[] => {
      const rules = parseRateLimit(text);
      if (rules) return rules;
      ctx.issues.push({
        code: 'custom',
        input: text,
        message: `must look like "5/minute", "3 per 10 minutes" or "10/minute;100/hour" (units: second, minute, hour, day), or "none"`,
      });
      return z.NEVER;
    })
    .prefault(defaultText);

/** A path prefix such as `/account`: leading slash, no trailing slash, no empty, dot or encoded segments. */
const pathPrefix = (defaultValue: string) =>
  z
    .string()
    .regex(/^(?:\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+$/, {
      error:
        'must be a path such as "/account": a leading "/", no trailing "/", letters, digits, "-", "_", "." and "~"',
    })
    .refine((value) => !value.split('/').some((segment) => segment === '.' || segment === '..'), {
      error: 'must not contain "." or ".." segments',
    })
    .default(defaultValue);

/** An absolute http(s) URL template holding `{token}` (R28: links come from configuration, never the request). */
const urlTemplate = () =>
  z
    .string()
    .refine((value) => value.includes('{token}'), { error: 'must contain the placeholder {token}' })
    .refine((value) => /^(?:\{base_url\}|https?:\/\/[^/?#\s]+)/.test(value), {
      error: 'must start with {base_url} or an absolute http(s) URL (R28: links never come from the request)',
    })
    .optional();

// `z.httpUrl()` rejects `localhost` and IP literals, which development and tests need.
const httpUrl = (message: string) => z.url({ protocol: /^https?$/, error: message });

const optionalText = () => z.string().min(1).optional();

const emailSchema = z
  .strictObject({
    /**
     * Mail transport: `console` prints each message to stdout (development), `smtp` uses `smtp_*`, `ses` uses
     * Amazon SES with `ses_*`. A host may instead pass its own transport object to `createRegstack`.
     * @default 'console'
     */
    backend: z.enum(['console', 'smtp', 'ses']).default('console'),
    /**
     * Envelope and `From:` address of every message regstack sends.
     * @default 'noreply@example.com'
     */
    fromAddress: z
      .email({ error: 'must be an email address such as noreply@example.com' })
      .default('noreply@example.com'),
    /**
     * Display name on the `From:` header; unset means `app_name`.
     * @default undefined
     */
    fromName: optionalText(),
    /**
     * SMTP server host name; required when `backend` is `smtp`.
     * @default undefined
     */
    smtpHost: optionalText(),
    /**
     * SMTP server port (587 = submission with STARTTLS, 465 = implicit TLS).
     * @default 587
     */
    smtpPort: z.int().min(1).max(65_535).default(587),
    /**
     * Require STARTTLS on a plain connection (the connection fails rather than sending in clear). Ignored when
     * `smtp_implicit_tls` is on.
     * @default true
     */
    smtpStarttls: z.boolean().default(true),
    /**
     * Connect with TLS from the first byte (SMTPS, usually port 465) instead of upgrading with STARTTLS.
     * Not in the Python regstack.
     * @default false
     */
    smtpImplicitTls: z.boolean().default(false),
    /**
     * SMTP user name; unset means no authentication.
     * @default undefined
     */
    smtpUsername: optionalText(),
    /**
     * SMTP password (a secret: keep it in `regstack.secrets.env` as `REGSTACK_EMAIL__SMTP_PASSWORD`).
     * @default undefined
     */
    smtpPassword: optionalText(),
    /**
     * AWS region of the SES endpoint.
     * @default 'eu-west-1'
     */
    sesRegion: z.string().min(1).default('eu-west-1'),
    /**
     * Override of the SES endpoint URL (a local test server, a VPC endpoint). Not in the Python regstack.
     * @default undefined
     */
    sesEndpoint: httpUrl('must be an absolute http(s) URL').optional(),
    /**
     * Named AWS profile for SES credentials; exclusive with the explicit key pair. Unset means the SDK's default
     * credential chain.
     * @default undefined
     */
    sesProfile: optionalText(),
    /**
     * Explicit AWS access key id for SES; set together with `ses_secret_access_key` or not at all.
     * @default undefined
     */
    sesAccessKeyId: optionalText(),
    /**
     * Explicit AWS secret access key for SES (a secret).
     * @default undefined
     */
    sesSecretAccessKey: optionalText(),
    /**
     * Directory of template overrides (per kind: subject, text, html); unset means the bundled templates.
     * Replaces the Python `extra_template_dirs` for mail.
     * @default undefined
     */
    templatesDir: optionalText(),
    /**
     * When true the `console` backend prints whole bodies, one-time links included; when false it prints the
     * envelope only. Bodies carry live tokens (R62), so keep this to local development. Other backends ignore it.
     * @default false
     */
    logBodies: z.boolean().default(false),
    /**
     * Cap on verification, reset and email-change messages per recipient address (R21: a flood of mail harasses
     * its owner). Not in the Python regstack.
     * @default '3/10 minutes'
     */
    recipientRateLimit: rateLimit('3/10 minutes'),
    /**
     * How often the outbox worker looks for due mail and jobs, in milliseconds. Not in the Python regstack.
     * @default 1000
     */
    outboxPollIntervalMs: z.number().int().min(50).max(60_000).default(1000),
    /**
     * How long a worker may hold a message or job before another process may take it over — the delay after a
     * crash before unfinished work is retried. Keep it well above a send's timeout. Not in the Python regstack.
     * @default 60
     */
    outboxLeaseSeconds: z.number().int().min(2).max(3600).default(60),
    /**
     * Optional cap on tries before a message or job is marked dead (and `email_failed` fires with `dead: true`),
     * on top of `outbox_give_up_after_seconds`; whichever comes first. Unset (the default) means time alone
     * decides: retries wait 2 s doubling up to 30 s (jittered), so a count would end an outage's mail within
     * minutes. Not in the Python regstack.
     * @default undefined
     */
    outboxMaxAttempts: z.number().int().min(1).max(1_000_000).optional(),
    /**
     * How long after it was queued a message or job that keeps failing is given up (marked dead, `email_failed`
     * with `dead: true`). Until then it is retried at most 30 s apart, so it goes out within about 30 s of the
     * provider coming back (docs/email-delivery.md). Not in the Python regstack.
     * @default 86400
     */
    outboxGiveUpAfterSeconds: z
      .number()
      .int()
      .min(60)
      .max(30 * 86400)
      .default(86400),
  })
  .superRefine(
    (email, ctx) => {
      if (email.backend === 'smtp' && !email.smtpHost) {
        ctx.addIssue({ code: 'custom', path: ['smtpHost'], message: 'is required when email.backend is "smtp"' });
      }
      const hasKey = email.sesAccessKeyId !== undefined;
      const hasSecret = email.sesSecretAccessKey !== undefined;
      if (hasKey !== hasSecret) {
        ctx.addIssue({
          code: 'custom',
          path: [hasKey ? 'sesSecretAccessKey' : 'sesAccessKeyId'],
          message:
            'ses_access_key_id and ses_secret_access_key must be set together (or both left unset to use the AWS default credential chain)',
        });
      }
      if ((hasKey || hasSecret) && email.sesProfile !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['sesProfile'],
          message: 'ses_profile and explicit ses_access_key_id/ses_secret_access_key are mutually exclusive; pick one',
        });
      }
    },
    { when: () => true },
  );

const smsSchema = z
  .strictObject({
    /**
     * SMS transport: `console` prints each message, marked as not sent (development; the Python `null` backend is
     * accepted as its alias), `twilio` (Twilio Programmable Messaging, `twilio_*`), `sns` (Amazon SNS, `sns_*`), or
     * `none` (every send is refused with FEATURE_DISABLED, so SMS 2FA cannot be enabled). A host may instead pass its
     * own transport object to `createRegstack`. `twilio` and `sns` need their SDK installed next to regstack
     * (`twilio`, `@aws-sdk/client-sns`).
     * @default 'console'
     */
    backend: z
      .enum(['console', 'twilio', 'sns', 'none', 'null'])
      .transform((backend) => (backend === 'null' ? 'console' : backend))
      .default('console'),
    /**
     * Sender: for `twilio` a Twilio number in E.164 or an alphanumeric sender id (required unless
     * `twilio_messaging_service_sid` is set); for `sns` an origination number (`+…`) or a sender id, optional.
     * @default undefined
     */
    fromNumber: optionalText(),
    /**
     * AWS region for SNS.
     * @default 'eu-west-1'
     */
    snsRegion: z.string().min(1).default('eu-west-1'),
    /**
     * Override of the SNS endpoint URL (a local test server, a VPC endpoint). Not in the Python regstack.
     * @default undefined
     */
    snsEndpoint: httpUrl('must be an absolute http(s) URL').optional(),
    /**
     * Access key id for SNS; set together with `sns_secret_access_key`, or leave both unset to use the AWS default
     * credential chain (environment, shared files, instance or task role). Not in the Python regstack.
     * @default undefined
     */
    snsAccessKeyId: optionalText(),
    /**
     * Secret access key for SNS (a secret). Not in the Python regstack.
     * @default undefined
     */
    snsSecretAccessKey: optionalText(),
    /**
     * Twilio account SID; required for `twilio`.
     * @default undefined
     */
    twilioAccountSid: optionalText(),
    /**
     * Twilio auth token (a secret); required for `twilio`.
     * @default undefined
     */
    twilioAuthToken: optionalText(),
    /**
     * Twilio Messaging Service SID (`MG…`): Twilio picks the sender from the service's pool; used instead of
     * `from_number` when set. Not in the Python regstack.
     * @default undefined
     */
    twilioMessagingServiceSid: optionalText(),
    /**
     * Base URL of Twilio's REST API. Change it only to reach a test server or an egress proxy that speaks Twilio's
     * API. Not in the Python regstack.
     * @default 'https://api.twilio.com'
     */
    twilioBaseUrl: httpUrl('must be an absolute http(s) URL').optional(),
    /**
     * Destinations SMS may be sent to (R21, against SMS pumping and toll fraud): ISO 3166-1 alpha-2 countries
     * (`"GB"`, matched on the number's region as libphonenumber-js reads it) or E.164 calling-code prefixes (`"+44"`,
     * matched on the number's leading digits). A number outside the list is refused with SMS_DESTINATION_NOT_ALLOWED
     * before anything is sent. Empty allows every country — set it before enabling SMS 2FA with a paid backend.
     * Not in the Python regstack.
     * @default []
     */
    allowedCountryCodes: z
      .array(
        z.string().transform((entry, ctx) => {
          const code = normalizeCountryCode(entry);
          if (code !== undefined) return code;
          ctx.issues.push({
            code: 'custom',
            input: entry,
            message: `"${entry.slice(0, 20)}" is neither an ISO 3166-1 alpha-2 country code like "GB" nor a calling-code prefix like "+44"`,
          });
          return z.NEVER;
        }),
      )
      .default(() => []),
    /**
     * When true the `console` backend prints message bodies (the one-time codes); when false only the masked
     * destination. `regstack serve --dev` turns it on. Keep this to local development (R62). Other backends ignore it.
     * @default false
     */
    logBodies: z.boolean().default(false),
    /**
     * Cap on SMS messages per destination number (R21), counted in the database so it holds across instances; a
     * send over it is refused with RATE_LIMITED. Not in the Python regstack.
     * @default '3/10 minutes'
     */
    recipientRateLimit: rateLimit('3/10 minutes'),
    /**
     * Cap on SMS messages triggered from one client IP (IPv6 per /64), every route together (R21). Not in the Python
     * regstack.
     * @default '10/hour'
     */
    ipRateLimit: rateLimit('10/hour'),
    /**
     * Cap on SMS messages sent for one account, whatever the number (R21: a user switching numbers during phone
     * setup). Not in the Python regstack.
     * @default '5/10 minutes;10/hour'
     */
    userRateLimit: rateLimit('5/10 minutes;10/hour'),
    /**
     * Cap on SMS messages from this deployment as a whole, all instances together: the ceiling on what an SMS
     * pumping attack can cost. Past it every send is refused with RATE_LIMITED until the window moves (fail closed).
     * It cannot be `none`; raise it for a large deployment. Not in the Python regstack.
     * @default '1000/hour'
     */
    globalRateLimit: rateLimit('1000/hour').refine((rules) => rules.length > 0, {
      error: 'cannot be "none": the global cap bounds what SMS pumping can cost; raise it instead',
    }),
  })
  .superRefine(
    (sms, ctx) => {
      if (sms.backend === 'twilio') {
        for (const [key, snake] of [
          ['twilioAccountSid', 'twilio_account_sid'],
          ['twilioAuthToken', 'twilio_auth_token'],
        ] as const) {
          if (!sms[key])
            ctx.addIssue({ code: 'custom', path: [key], message: `${snake} is required when sms.backend is "twilio"` });
        }
        if (!sms.fromNumber && !sms.twilioMessagingServiceSid) {
          ctx.addIssue({
            code: 'custom',
            path: ['fromNumber'],
            message: 'from_number (or twilio_messaging_service_sid) is required when sms.backend is "twilio"',
          });
        }
      }
      if ((sms.snsAccessKeyId === undefined) !== (sms.snsSecretAccessKey === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: [sms.snsAccessKeyId === undefined ? 'snsAccessKeyId' : 'snsSecretAccessKey'],
          message:
            'sns_access_key_id and sns_secret_access_key must be set together (or both left unset to use the AWS default credential chain)',
        });
      }
    },
    { when: () => true },
  );

/** Issuers of the provider presets: a provider named `google` or `microsoft` needs no `issuer`. */
export const OAUTH_PRESET_ISSUERS = {
  google: 'https://accounts.google.com',
  microsoft: 'https://login.microsoftonline.com/{tenant}/v2.0',
} as const;

const oauthProviderSchema = z.strictObject({
  /**
   * The provider's issuer URL; its `/.well-known/openid-configuration` is read at the first sign-in. Unset for the
   * presets `google` (`https://accounts.google.com`) and `microsoft` (`https://login.microsoftonline.com/{tenant}/v2.0`).
   * @default undefined
   */
  issuer: httpUrl("must be the provider's absolute http(s) issuer URL").optional(),
  /**
   * The OAuth client id the provider issued for this app.
   * @default undefined (required)
   */
  clientId: z.string().min(1),
  /**
   * The OAuth client secret (a secret: keep it in `regstack.secrets.env` as
   * `REGSTACK_OAUTH__PROVIDERS__<NAME>__CLIENT_SECRET`). Unset means a public client (PKCE alone, `none` client
   * authentication).
   * @default undefined
   */
  clientSecret: optionalText(),
  /**
   * Scopes asked for; `openid` is always added, and `email` is needed to match or create an account.
   * @default ['openid', 'email', 'profile']
   */
  scopes: z
    .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, { error: 'must be a scope token (no spaces or quotes)' }))
    .default(() => ['openid', 'email', 'profile']),
  /**
   * Microsoft Entra only: the directory (tenant) id or domain whose accounts may sign in. `common` and
   * `organizations` are refused: their ID tokens name each user's own tenant as issuer, which cannot be checked.
   * @default undefined
   */
  tenant: z
    .string()
    .regex(/^[A-Za-z0-9.-]{1,100}$/, { error: 'must be a tenant id (a GUID) or a domain' })
    .optional(),
});

const oauthSchema = z
  .strictObject({
    /**
     * OpenID Connect providers by name (`[oauth.providers.google]`, `REGSTACK_OAUTH__PROVIDERS__GOOGLE__CLIENT_ID`);
     * names are lowercase letters, digits and single `_`. See docs/oauth.md. Not in the Python regstack.
     * @default {}
     */
    providers: z
      .record(
        // A provider's name is in URLs (`/oauth/<name>/start`) and env names; the client checks the same rule.
        z.string().max(OAUTH_PROVIDER_NAME_MAX_LENGTH).regex(OAUTH_PROVIDER_NAME_PATTERN, {
          error: 'provider names are lowercase letters and digits, words joined by a single "_"',
        }),
        oauthProviderSchema,
      )
      .default(() => ({})),
    /**
     * The Python regstack's Google client id: the same as `[oauth.providers.google] client_id` (which wins when
     * both are set).
     * @default undefined
     */
    googleClientId: optionalText(),
    /**
     * The Python regstack's Google client secret (a secret): `[oauth.providers.google] client_secret`.
     * @default undefined
     */
    googleClientSecret: optionalText(),
    /**
     * Attach a provider identity to an existing account with the same address. Only ever when the provider says
     * the address is verified (`email_verified`) **and** the local account's address is verified; an unverified
     * local account is never linked by address match (pre-account takeover). When false (or those conditions do
     * not hold) such a sign-in is refused with OAUTH_ACCOUNT_EXISTS: the owner signs in and links the provider.
     * @default false
     */
    autoLinkVerifiedEmails: z.boolean().default(false),
    /**
     * Lifetime of a started sign-in (its `state`, `nonce` and PKCE verifier, kept server-side, single-use).
     * @default 300
     */
    stateTtlSeconds: z.int().min(60).max(1800).default(300),
    /**
     * Lifetime of the one-time id the callback hands back to the app for `auth.oauth.exchange` (single-use).
     * @default 30
     */
    completionTtlSeconds: z.int().min(5).max(300).default(30),
    /**
     * Origins (`https://app.example.com`) an absolute `redirect_to` may point at; a relative path on `base_url` is
     * always allowed. Anything else is refused with OAUTH_REDIRECT_NOT_ALLOWED (no open redirect). Not in the
     * Python regstack.
     * @default []
     */
    allowedRedirects: z
      .array(
        z.string().transform((entry, ctx) => {
          const result = normalizeOrigin(entry);
          if ('origin' in result && result.origin !== '*') return result.origin;
          ctx.issues.push({
            code: 'custom',
            input: entry,
            message: 'error' in result ? result.error : 'must not be "*"',
          });
          return z.NEVER;
        }),
      )
      .max(100)
      .default(() => []),
  })
  .superRefine(
    (oauth, ctx) => {
      for (const [name, provider] of Object.entries(oauth.providers ?? {})) {
        if (name === 'microsoft') {
          if (!provider.tenant && !provider.issuer) {
            ctx.addIssue({ code: 'custom', path: ['providers', name, 'tenant'], message: 'is required for microsoft' });
          } else if (provider.tenant && ['common', 'organizations'].includes(provider.tenant.toLowerCase())) {
            ctx.addIssue({
              code: 'custom',
              path: ['providers', name, 'tenant'],
              message: 'must name one tenant: the ID tokens of "common" and "organizations" cannot be checked',
            });
          }
        } else if (!provider.issuer && name !== 'google') {
          ctx.addIssue({
            code: 'custom',
            path: ['providers', name, 'issuer'],
            message: 'is required (only google and microsoft are presets)',
          });
        }
      }
    },
    { when: () => true },
  );

/** The configuration schema. Parse with `parseConfig` (explicit objects) or `loadConfig` (files and environment). */
export const configSchema = z
  .strictObject({
    // ── Identity and hosting ─────────────────────────────────────────────────────────────────────────────────
    /**
     * Product name used in emails, SMS and page titles.
     * @default 'RegStack'
     */
    appName: z.string().min(1).max(100).default('RegStack'),
    /**
     * Public origin of the app; every link in mail is built from it and never from request headers (R28).
     * Stored without a trailing slash.
     * @default 'http://localhost:8000'
     */
    baseUrl: z
      .url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL such as https://app.example.com' })
      .refine((url) => !/[?#]/.test(url), { error: 'must not contain a query string or fragment' })
      .transform((url) => url.replace(/\/+$/, ''))
      .default('http://localhost:8000'),
    /**
     * Addresses or CIDR ranges of reverse proxies whose `X-Forwarded-For` is believed; from any other peer the
     * header is ignored and the socket address is the client (R20). Replaces the Python `behind_proxy` flag.
     * @default []
     */
    trustedProxies: z
      .array(z.string().refine(isIpOrCidr, { error: 'must be an IP address or CIDR range such as 10.0.0.0/8 or ::1' }))
      .default(() => []),
    /**
     * Origins whose pages may call the tRPC endpoint (`api_prefix`) from the browser, each exactly
     * `scheme://host[:port]` (`https://app.example.com`, `http://localhost:5173`). A listed origin gets
     * `Access-Control-Allow-Origin` echoing it, with credentials allowed; any other origin gets no CORS headers,
     * so the browser keeps the answer from its page. `["*"]` on its own lets every origin call without
     * credentials (the API authenticates with a bearer token, never a cookie). Empty: no CORS headers at all,
     * the pages calling the API must be served from its own origin. See docs/cors.md. Not in the Python regstack.
     * @default []
     */
    corsOrigins: z
      .array(
        z.string().transform((entry, ctx) => {
          const result = normalizeOrigin(entry);
          if ('origin' in result) return result.origin;
          ctx.issues.push({ code: 'custom', input: entry, message: result.error });
          return z.NEVER;
        }),
      )
      .max(100)
      .refine((origins) => !origins.includes('*') || origins.length === 1, {
        error: '"*" must be the only entry: it already admits every origin (and never with credentials)',
      })
      .transform((origins) => [...new Set(origins)])
      .default(() => []),

    // ── Storage ──────────────────────────────────────────────────────────────────────────────────────────────
    /**
     * Database: `sqlite:<file>` (or `sqlite::memory:`), `postgresql://…`, `mongodb://…` / `mongodb+srv://…`.
     * The Python regstack's SQLAlchemy spellings (`sqlite+aiosqlite:///./regstack.db`, `postgresql+asyncpg://…`)
     * are accepted and normalised. PostgreSQL also takes libpq's host lists with `target_session_attrs`
     * (`postgresql://u:p@db1:5432,db2:5432/app?target_session_attrs=read-write`) to follow a failover (docs/scaling.md).
     * Treated as a secret: it may carry a password.
     * @default 'sqlite:./regstack.db'
     */
    databaseUrl: z
      .string()
      .transform((url, ctx) => {
        try {
          return normalizeDatabaseUrl(url);
        } catch (err) {
          if (!(err instanceof DatabaseUrlError)) throw err;
          // The message names the scheme or the parameter at fault, never the credentials.
          ctx.issues.push({ code: 'custom', input: undefined, message: err.message.replace(/^database_url:? ?/, '') });
          return z.NEVER;
        }
      })
      .prefault('sqlite:./regstack.db'),
    /**
     * SQLite: `normal` commits without waiting for the disk; a thread of regstack's flushes the WAL every second,
     * so an OS crash or power cut can undo at most about the last second of commits (a crashed process loses
     * nothing, and the database never corrupts). `full` makes every commit wait for the disk — on the event
     * loop, since better-sqlite3 is synchronous: every request waits with it, for as long as a busy disk takes.
     * The lockout and rate-limit counters never wait. See docs/storage.md. Not in the Python regstack.
     * @default 'normal'
     */
    sqliteSynchronous: z.enum(['normal', 'full']).default('normal'),
    /**
     * PostgreSQL: run the per-request statements as named prepared statements (parsed once per connection). Their
     * names derive from their text, so two instances never mean different SQL by one name. Set false behind a
     * pooler in transaction mode that does not track prepared statements — pgbouncer before 1.21, or with
     * `max_prepared_statements = 0` — where a pooled server connection would see another client's statements;
     * statements then go unnamed (parsed on every call). See docs/scaling.md. Not in the Python regstack.
     * @default true
     */
    postgresPreparedStatements: z.boolean().default(true),
    /**
     * PostgreSQL: connections in regstack's pool, per instance. regstack keeps a second pool of at most 2 for
     * the authentication lookup (docs/storage.md), so an instance holds at most `database_pool_size + 2`; size it
     * against the server's `max_connections` across every process of your app. MongoDB takes `maxPoolSize` in
     * its URL; SQLite has one connection. Not in the Python regstack.
     * @default 10
     */
    databasePoolSize: z.int().min(1).max(1000).default(10),
    /**
     * The longest a call waits to reach the database before it fails closed with 503 + `Retry-After` (R71;
     * docs/database-outages.md). PostgreSQL: connecting a new connection, or waiting for one of the pool's to come
     * free (node-postgres bounds both with one setting); a `connect_timeout` in `database_url` (libpq's, in
     * seconds) wins. MongoDB: finding a reachable server and connecting (`serverSelectionTimeoutMS`,
     * `connectTimeoutMS`; the URL's own win). Not in the Python regstack.
     * @default 5000
     */
    databaseConnectTimeoutMs: z.int().min(100).max(600_000).default(5000),
    /**
     * The longest one statement waits for the database's answer before the call fails closed with 503 +
     * `Retry-After` — a frozen server (it accepts, never answers) must not hold requests forever (R71).
     * PostgreSQL: node-postgres's `query_timeout` (a `query_timeout` in `database_url` wins; schema installation
     * has none); MongoDB: `socketTimeoutMS` (the URL's own wins). SQLite waits as `sqlite_busy_timeout_ms` says.
     * Not in the Python regstack.
     * @default 10000
     */
    databaseQueryTimeoutMs: z.int().min(100).max(3_600_000).default(10_000),
    /**
     * SQLite: how long a write waits for a lock another process holds on the database file before the call fails
     * closed with 503 + `Retry-After` (R71). The wait is retries on a timer, never a blocking wait: other requests
     * are served meanwhile (docs/database-outages.md). Not in the Python regstack.
     * @default 5000
     */
    sqliteBusyTimeoutMs: z.int().min(0).max(600_000).default(5000),
    /**
     * MongoDB database name used when `database_url` names none.
     * @default 'regstack'
     */
    mongodbDatabase: z.string().min(1).default('regstack'),

    // ── Access tokens (SPEC §7) ──────────────────────────────────────────────────────────────────────────────
    /**
     * Master secret: per-purpose signing keys are derived from it (HKDF). Required, at least 32 characters of CSPRNG
     * output (R32). Keep it in `regstack.secrets.env` or the environment, never in `regstack.toml`.
     * @default undefined (required)
     */
    jwtSecret: z
      .string({
        error: (issue) => (issue.input === undefined ? `is required: ${JWT_SECRET_HINT}` : 'must be a string'),
      })
      .min(MIN_JWT_SECRET_LENGTH, {
        error: `is too short: at least ${MIN_JWT_SECRET_LENGTH} characters are required (R32: ≥ 256 bits); ${JWT_SECRET_HINT}`,
      })
      // The one check of R32: key derivation takes only a secret with this brand (security/key-derivation.ts).
      .brand<'JwtSecret'>(),
    /**
     * Previous master secrets still accepted for verification during a rotation (never used to sign). Drop each
     * once `jwt_ttl_seconds` has passed since the switch. At most 10.
     * @default []
     */
    jwtPreviousSecrets: z
      .array(
        z
          .string()
          .min(MIN_JWT_SECRET_LENGTH, {
            error: `each previous secret must be at least ${MIN_JWT_SECRET_LENGTH} characters (R32)`,
          })
          .brand<'JwtSecret'>(),
      )
      .max(10)
      .default(() => []),
    /**
     * The single algorithm tokens are signed and verified with (R31). `HS*` use keys derived from `jwt_secret`;
     * `EdDSA`/`ES256` sign with `jwt_private_key` and publish the public key as a JWKS.
     * @default 'HS256'
     */
    jwtAlgorithm: z.enum(['HS256', 'HS384', 'HS512', 'EdDSA', 'ES256']).default('HS256'),
    /**
     * PKCS#8 PEM private key for `EdDSA`/`ES256` (a secret); unused for `HS*`. Not in the Python regstack.
     * @default undefined
     */
    jwtPrivateKey: z
      .string()
      .regex(/-----BEGIN PRIVATE KEY-----[\s\S]+-----END PRIVATE KEY-----/, {
        error: 'must be a PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----)',
      })
      .optional(),
    /**
     * Access-token lifetime, 1 minute to 30 days.
     * @default 7200
     */
    jwtTtlSeconds: z
      .int()
      .min(60)
      .max(30 * 86_400)
      .default(7200),
    /**
     * How recent a sign-in must be to stand in for the password when an account without one (signed up with an
     * OpenID Connect provider) changes its email, password or second factors or deletes itself: the session's
     * sign-in at most this many seconds ago, 1 minute to 1 hour (R44, R45; `account.reauthentication`). Accounts
     * with a password always re-authenticate with it. Not in the Python regstack.
     * @default 600
     */
    reauthenticationMaxAgeSeconds: z.int().min(60).max(3600).default(600),
    /**
     * How often each instance runs the background purge of rows that can no longer decide anything (expired
     * sessions and their logout facts, expired links, claims and sign-ups, old login attempts, delivered mail);
     * 0 turns it off (then run `regstack purge` from a scheduler). One instance purges at a time. Not in the Python
     * regstack.
     * @default 3600
     */
    purgeIntervalSeconds: z
      .int()
      .min(0)
      .max(7 * 86_400)
      .default(3600),
    /**
     * How long the audit log keeps an event, in days: the purge (background, `regstack purge`, `regstack.purge()`)
     * removes events older than this, in batches under the purge lock. 0 keeps every event forever: how long a
     * security log must be kept (law, contracts, incident response) is the host's decision, so nothing is deleted
     * until the host makes it. Not in the Python regstack.
     * @default 0
     */
    auditRetentionDays: z.int().min(0).max(36_500).default(0),
    /**
     * `iss` claim written and required (R33). Not in the Python regstack.
     * @default 'regstack'
     */
    jwtIssuer: z.string().min(1).default('regstack'),
    /**
     * `aud` claim written and required (R33). The Python regstack defaults to none (audience unchecked);
     * SECURITY.md R33 wants it checked, so it has a value here.
     * @default 'regstack'
     */
    jwtAudience: z.string().min(1).default('regstack'),
    /**
     * Clock-skew leeway for `exp`, `nbf` and `iat`, at most 60 s (R34): an access token, and the session that ends
     * at its `exp`, still authenticate up to this many seconds past `exp`; an MFA-pending token likewise. Not in
     * the Python regstack.
     * @default 5
     */
    jwtClockToleranceSeconds: z
      .int()
      .min(0)
      .max(60, { error: 'must be at most 60 seconds (R34)' })
      .default(5)
      // The one check of R34: the token service takes only a tolerance with this brand (security/tokens).
      .brand<'ClockToleranceSeconds'>(),

    // ── One-time token lifetimes (R25) ───────────────────────────────────────────────────────────────────────
    /**
     * Email-verification link lifetime, at most 24 h (R25).
     * @default 86400
     */
    verificationTokenTtlSeconds: z
      .int()
      .min(60)
      .max(86_400, { error: 'must be at most 86400 seconds (24 hours, R25)' })
      .default(86_400),
    /**
     * Password-reset link lifetime, at most 60 min (R25; the Python regstack has no upper bound).
     * @default 1800
     */
    passwordResetTokenTtlSeconds: z
      .int()
      .min(60)
      .max(3600, { error: 'must be at most 3600 seconds (60 minutes, R25)' })
      .default(1800),
    /**
     * Email-change confirmation link lifetime, at most 60 min (R25; the Python regstack has no upper bound).
     * @default 3600
     */
    emailChangeTokenTtlSeconds: z
      .int()
      .min(60)
      .max(3600, { error: 'must be at most 3600 seconds (60 minutes, R25)' })
      .default(3600),

    // ── SMS second factor ────────────────────────────────────────────────────────────────────────────────────
    /**
     * SMS code lifetime, 30 s to 10 min (R48; the Python regstack allows 30 min).
     * @default 300
     */
    smsCodeTtlSeconds: z
      .int()
      .min(30)
      .max(600, { error: 'must be at most 600 seconds (10 minutes, R48)' })
      .default(300),
    /**
     * Wrong guesses that kill an SMS code, 1 to 5 (R49; the Python regstack allows 20).
     * @default 5
     */
    smsCodeMaxAttempts: z.int().min(1).max(5, { error: 'must be at most 5 (R49)' }).default(5),
    /**
     * Lifetime of the MFA-pending token issued after a correct password (`mfa_required`), 1 to 10 min (R50; no
     * longer than the longest SMS code it may wait for, R48).
     * @default 600
     */
    mfaPendingTokenTtlSeconds: z
      .int()
      .min(60)
      .max(600, { error: 'must be at most 600 seconds (10 minutes, R48, R50)' })
      .default(600),

    // ── Features ─────────────────────────────────────────────────────────────────────────────────────────────
    /**
     * New accounts must confirm their email address before they can log in.
     * @default true
     */
    requireVerification: z.boolean().default(true),
    /**
     * Self-service registration; when false `register` answers `REGISTRATION_DISABLED`.
     * @default true
     */
    allowRegistration: z.boolean().default(true),
    /**
     * The forgot/reset password flow.
     * @default true
     */
    enablePasswordReset: z.boolean().default(true),
    /**
     * Users may delete their own account.
     * @default true
     */
    enableAccountDeletion: z.boolean().default(true),
    /**
     * The `auth.admin.*` procedures; while false each answers `FEATURE_DISABLED`.
     * @default false
     */
    enableAdminRouter: z.boolean().default(false),
    /**
     * Who must have a second factor: `off`, `superusers` or `all`. A user who must and has none signs in to a
     * restricted session that reaches only `account.me`, `logout` and `auth.mfa.*` until they enable one; every
     * other procedure (the host's `procedures.authed` included) answers `MFA_ENROLMENT_REQUIRED`
     * (docs/two-factor.md). Not in the Python regstack.
     * @default 'off'
     */
    requireMfa: z.enum(['off', 'superusers', 'all']).default('off'),
    /**
     * Lifetime of a session an administrator opens as a user with `auth.admin.users.impersonate`, 1 to 60 minutes,
     * never longer than `jwt_ttl_seconds` and never renewed (docs/admin.md). Not in the Python regstack.
     * @default 900
     */
    impersonationTtlSeconds: z.int().min(60).max(3600).default(900),
    /**
     * The server-rendered pages under `ui_prefix`.
     * @default false
     */
    enableUiRouter: z.boolean().default(false),
    /**
     * SMS second factor (a restricted authenticator, R51).
     * @default false
     */
    enableSms2fa: z.boolean().default(false),

    // ── Passwords (R1–R7) ────────────────────────────────────────────────────────────────────────────────────
    /**
     * Minimum password length in Unicode code points, never below 8 (R1; 15 is recommended without 2FA).
     * Not in the Python regstack.
     * @default 12
     */
    passwordMinLength: z
      .int()
      .min(8, { error: 'must be at least 8 (R1: the configurable floor never goes below 8)' })
      .max(128)
      .default(12),
    /**
     * Maximum password length in code points, 64 to 128; longer passwords are refused before hashing (R2).
     * Not in the Python regstack.
     * @default 128
     */
    passwordMaxLength: z
      .int()
      .min(64, { error: 'must be at least 64 (R2: passwords of 64 characters must be accepted)' })
      .max(128, { error: 'must be at most 128 (R2)' })
      .default(128),
    /**
     * argon2id memory cost in KiB (R6: OWASP's 19 MiB row; memory × iterations may not fall below the weakest OWASP
     * row, 7168 KiB × 5). Not in the Python regstack.
     * @default 19456
     */
    argon2MemoryKib: z.int().min(7168).max(4_194_304).default(19_456),
    /**
     * argon2id iterations (time cost). Not in the Python regstack.
     * @default 2
     */
    argon2Iterations: z.int().min(1).max(20).default(2),
    /**
     * argon2id parallelism (lanes). Not in the Python regstack.
     * @default 1
     */
    argon2Parallelism: z.int().min(1).max(8).default(1),
    /**
     * Hashes in flight at once (R7). The hashing process computes one per core at a time (this many when fewer)
     * and starts the next the moment a core is free; calls beyond this wait in `hash_queue_limit`. Not in the
     * Python regstack.
     * @default cores + 1, but no more than a quarter of the process's memory (its cgroup limit, if any) holds at
     * `argon2_memory_kib` each, and at most 64 (unset: the password hasher works it out)
     */
    hashConcurrency: z.int().min(1).max(MAX_HASH_CONCURRENCY).optional(),
    /**
     * `nice` of regstack's hashing process, where argon2 runs (0 = normal priority), so the event loop keeps
     * answering while hashing saturates the CPU. The host's own threads are never changed; see
     * docs/password-hashing.md. Not in the Python regstack.
     * @default 10
     */
    hashThreadPriority: z.int().min(0).max(19).default(DEFAULT_HASHING_PRIORITY),
    /**
     * Hash requests allowed to wait for a slot; beyond it requests are shed with 503 + `Retry-After` instead of
     * queueing without bound (R7). Not in the Python regstack.
     * @default 32
     */
    hashQueueLimit: z.int().min(0).max(10_000).default(32),

    // ── Login lockout (R14–R19) ──────────────────────────────────────────────────────────────────────────────
    /**
     * Failed logins (any authentication path, R19) within `login_lockout_window_seconds` that lock an identifier.
     * Together with the window it may never allow more than 100 failures per hour (R14).
     * @default 5
     */
    loginLockoutThreshold: z.int().min(1).max(MAX_FAILED_LOGINS_PER_HOUR).default(5),
    /**
     * Sliding window of the lockout counter, 10 s to 24 h.
     * @default 900
     */
    loginLockoutWindowSeconds: z.int().min(10).max(86_400).default(900),

    // ── Per-IP limits per procedure (R20); "none" disables one. The Python regstack defaults them all to none. ──
    /**
     * Per-IP limit on `login`.
     * @default '20/minute;200/hour'
     */
    loginRateLimit: rateLimit('20/minute;200/hour'),
    /**
     * Per-IP limit on `mfa.confirmLogin` (the account lockout counts wrong codes as well, R19).
     * @default '20/minute'
     */
    loginMfaConfirmRateLimit: rateLimit('20/minute'),
    /**
     * Per-IP limit on `mfa.resendLoginCode` (each sends a paid SMS). Not in the Python regstack.
     * @default '3/minute;10/hour'
     */
    mfaResendLoginCodeRateLimit: rateLimit('3/minute;10/hour'),
    /**
     * Per-IP limit on managing factors: `mfa.totp.start`, `mfa.totp.confirm`, `mfa.totp.disable` and
     * `mfa.recoveryCodes.regenerate`. Not in the Python regstack.
     * @default '20/minute'
     */
    mfaManageRateLimit: rateLimit('20/minute'),
    /**
     * Per-IP limit on `register`.
     * @default '10/minute;100/hour'
     */
    registerRateLimit: rateLimit('10/minute;100/hour'),
    /**
     * Per-IP limit on `forgotPassword`.
     * @default '10/minute;100/hour'
     */
    forgotPasswordRateLimit: rateLimit('10/minute;100/hour'),
    /**
     * Per-IP limit on `resetPassword`.
     * @default '20/minute'
     */
    resetPasswordRateLimit: rateLimit('20/minute'),
    /**
     * Per-IP limit on `verifyEmail`.
     * @default '30/minute'
     */
    verifyRateLimit: rateLimit('30/minute'),
    /**
     * Per-IP limit on `resendVerification`.
     * @default '10/minute;100/hour'
     */
    resendVerificationRateLimit: rateLimit('10/minute;100/hour'),
    /**
     * Per-IP limit on `account.changePassword`.
     * @default '20/minute'
     */
    changePasswordRateLimit: rateLimit('20/minute'),
    /**
     * Per-IP limit on `account.changeEmail`.
     * @default '10/minute;100/hour'
     */
    changeEmailRateLimit: rateLimit('10/minute;100/hour'),
    /**
     * Per-IP limit on `account.confirmEmailChange`.
     * @default '20/minute'
     */
    confirmEmailChangeRateLimit: rateLimit('20/minute'),
    /**
     * Per-IP limit on `account.delete`.
     * @default '10/minute'
     */
    deleteAccountRateLimit: rateLimit('10/minute'),
    /**
     * Per-IP limit on `mfa.sms.start` (sends a paid SMS).
     * @default '5/minute;20/hour'
     */
    phoneStartRateLimit: rateLimit('5/minute;20/hour'),
    /**
     * Per-IP limit on `mfa.sms.confirm`.
     * @default '20/minute'
     */
    phoneConfirmRateLimit: rateLimit('20/minute'),
    /**
     * Per-IP limit on `mfa.sms.disable`.
     * @default '10/minute'
     */
    phoneDisableRateLimit: rateLimit('10/minute'),
    /**
     * Largest accepted request body on regstack's endpoints, 1 KiB to 1 MiB; larger bodies get 413 (R2, R55).
     * Not in the Python regstack.
     * @default 16384
     */
    maxRequestBodyBytes: z.int().min(1024).max(1_048_576).default(16_384),
    /**
     * Graceful shutdown (R72): on SIGTERM or SIGINT (and `close()` of `regstack.listen()`), the standalone
     * server stops accepting and answers the requests it already received for at most this many seconds, then
     * drops the connections still open. Keep it below your orchestrator's kill grace period (Kubernetes: 30 s).
     * Not in the Python regstack.
     * @default 20
     */
    shutdownTimeoutSeconds: z.int().min(1).max(600).default(20),

    // ── HTTP paths, links and pages ──────────────────────────────────────────────────────────────────────────
    /**
     * Path of the tRPC endpoint in regstack's own HTTP handler. The Python regstack's REST prefix defaults to
     * `/api/auth`; SPEC §3 puts tRPC at `/trpc`.
     * @default '/trpc'
     */
    apiPrefix: pathPrefix('/trpc'),
    /**
     * Path of the server-rendered pages.
     * @default '/account'
     */
    uiPrefix: pathPrefix('/account'),
    /**
     * Path of the pages' static assets.
     * @default '/regstack-static'
     */
    staticPrefix: pathPrefix('/regstack-static'),
    /**
     * Prefix of the mailed token links: unset means `ui_prefix` when regstack serves the pages (`enable_ui_router`),
     * whose links are `{ui_prefix}/verify`, `/reset` and `/confirm-email-change`, and `""` when the host serves them;
     * links a host serves use the Python regstack's paths `/verify`, `/reset-password` and `/confirm-email-change`.
     * `""` is allowed. See docs/email.md.
     * @default undefined
     */
    emailLinkPrefix: z
      .string()
      .regex(/^(?:\/[A-Za-z0-9._~-]+)*$/, { error: 'must be "" or a path such as "/app" with no trailing "/"' })
      .optional(),
    /**
     * Full verification-link template with `{base_url}` and `{token}`; overrides `email_link_prefix`.
     * @default undefined
     */
    verifyUrlTemplate: urlTemplate(),
    /**
     * Full password-reset-link template with `{base_url}` and `{token}`.
     * @default undefined
     */
    passwordResetUrlTemplate: urlTemplate(),
    /**
     * Full email-change-link template with `{base_url}` and `{token}`.
     * @default undefined
     */
    emailChangeUrlTemplate: urlTemplate(),
    /**
     * Logo shown on the pages.
     * @default undefined
     */
    brandLogoUrl: optionalText(),
    /**
     * Tagline shown on the pages.
     * @default undefined
     */
    brandTagline: optionalText(),
    /**
     * Stylesheet loaded after the bundled theme (override `--rs-*` variables there).
     * @default undefined
     */
    themeCssUrl: optionalText(),
    /**
     * Name of the pages' HttpOnly session cookie; must keep the `__Host-` prefix (R58: Secure, Path=/, no Domain). The
     * pages' CSRF and link cookies add `_csrf` and `_link`. On an http loopback `base_url` (development) the cookies
     * drop `Secure` and the prefix. Not in the Python regstack.
     * @default '__Host-regstack_session'
     */
    cookieName: z
      .string()
      .regex(/^__Host-[A-Za-z0-9_.-]{1,64}$/, {
        error: 'must start with "__Host-" followed by letters, digits, "_", "-" or "." (R58)',
      })
      .default('__Host-regstack_session'),
    /**
     * `SameSite` attribute of the pages' cookies (R58 allows `lax` or `strict`). Not in the Python regstack.
     * @default 'lax'
     */
    cookieSameSite: z.enum(['lax', 'strict']).default('lax'),

    // ── Sign-in with OpenID Connect providers (docs/oauth.md) ────────────────────────────────────────────────
    /**
     * Sign-in with the providers of `[oauth.providers.*]`: the HTTP routes under `oauth_prefix` and the
     * `auth.oauth.*` procedures; while false each answers FEATURE_DISABLED.
     * @default false
     */
    enableOauth: z.boolean().default(false),
    /**
     * Path of the sign-in routes: `{oauth_prefix}/{provider}/start` and `{oauth_prefix}/{provider}/callback` (the
     * redirect URI to register with the provider is `{base_url}{oauth_prefix}/{provider}/callback`).
     * Not in the Python regstack.
     * @default '/oauth'
     */
    oauthPrefix: pathPrefix('/oauth'),
    /**
     * Per-IP limit on `auth.oauth.exchange` and on starting a sign-in.
     * @default '20/minute'
     */
    oauthExchangeRateLimit: rateLimit('20/minute'),
    /**
     * OpenID Connect sign-in (`[oauth]` in TOML, `REGSTACK_OAUTH__*` in the environment).
     * @default {} (every field at its default)
     */
    oauth: oauthSchema.prefault({}),

    // ── Transports ───────────────────────────────────────────────────────────────────────────────────────────
    /**
     * Outgoing mail (`[email]` in TOML, `REGSTACK_EMAIL__*` in the environment).
     * @default {} (every field at its default)
     */
    email: emailSchema.prefault({}),
    /**
     * Outgoing SMS (`[sms]` in TOML, `REGSTACK_SMS__*` in the environment).
     * @default {} (every field at its default)
     */
    sms: smsSchema.prefault({}),
  })
  .superRefine(
    // Cross-field rules. `when: () => true` makes them run even when another key is already invalid, so one
    // error lists every problem; each rule therefore checks the types of the values it reads.
    (config, ctx) => {
      const { loginLockoutThreshold: threshold, loginLockoutWindowSeconds: window } = config;
      if (Number.isInteger(threshold) && Number.isInteger(window) && window >= 10) {
        // While locked, attempts are refused before any password check and do not count (R15, R16), so any span
        // of `window` seconds holds at most `threshold` failures: an hour holds at most threshold × ⌈3600 / window⌉.
        const perHour = threshold * Math.ceil(3600 / window);
        if (perHour > MAX_FAILED_LOGINS_PER_HOUR) {
          ctx.addIssue({
            code: 'custom',
            path: ['loginLockoutThreshold'],
            message:
              `login_lockout_threshold = ${threshold} with login_lockout_window_seconds = ${window} allows up to ${perHour} ` +
              `failed logins per hour per account; the ceiling is ${MAX_FAILED_LOGINS_PER_HOUR} (R14): lower the threshold or lengthen the window`,
          });
        }
      }
      const { passwordMinLength: min, passwordMaxLength: max } = config;
      if (Number.isInteger(min) && Number.isInteger(max) && min > max) {
        ctx.addIssue({
          code: 'custom',
          path: ['passwordMinLength'],
          message: `must not exceed password_max_length (${max})`,
        });
      }
      const { argon2MemoryKib: memory, argon2Iterations: iterations } = config;
      if (Number.isInteger(memory) && Number.isInteger(iterations)) {
        if (memory * iterations < ARGON2_MIN_COST_KIB_ITERATIONS) {
          ctx.addIssue({
            code: 'custom',
            path: ['argon2Iterations'],
            message:
              `argon2_memory_kib × argon2_iterations = ${memory * iterations} is below the weakest OWASP argon2id setting ` +
              `(7168 KiB × 5 = ${ARGON2_MIN_COST_KIB_ITERATIONS}, R6); use m=19456 KiB, t=2`,
          });
        }
      }
      if ((config.jwtAlgorithm === 'EdDSA' || config.jwtAlgorithm === 'ES256') && config.jwtPrivateKey === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['jwtPrivateKey'],
          message: `is required when jwt_algorithm is "${config.jwtAlgorithm}"`,
        });
      }
      if (config.enableSms2fa === true && typeof config.sms === 'object' && config.sms?.backend === 'none') {
        ctx.addIssue({
          code: 'custom',
          path: ['sms', 'backend'],
          message: 'must not be "none" while enable_sms_2fa is true',
        });
      }
      const prefixes = [
        ['apiPrefix', 'api_prefix', config.apiPrefix],
        ['uiPrefix', 'ui_prefix', config.uiPrefix],
        ['staticPrefix', 'static_prefix', config.staticPrefix],
        ['oauthPrefix', 'oauth_prefix', config.oauthPrefix],
      ] as const;
      for (const [index, [key, , value]] of prefixes.entries()) {
        const clash = prefixes.slice(0, index).find(([, , other]) => typeof value === 'string' && other === value);
        if (clash) {
          ctx.addIssue({ code: 'custom', path: [key], message: `must differ from ${clash[1]} ("${value}")` });
        }
      }
    },
    { when: () => true },
  );

/** The validated configuration (every default applied). */
export type RegstackConfig = z.output<typeof configSchema>;

type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> | undefined }
    : T;

/** What a caller may pass explicitly: any subset of the input shape (missing keys come from files, env, defaults). */
export type RegstackConfigInput = DeepPartial<z.input<typeof configSchema>>;
