/**
 * The messages regstack sends, one kind per event, each as subject + text + HTML. Every kind is a set of
 * `{{variable}}` templates filled from a closed list of variables; a host can replace any part of any kind
 * with files in `email.templates_dir` (see `template-overrides.ts`), checked once at startup.
 *
 * Safety rules, enforced here rather than left to each template:
 * - values are HTML-escaped in the HTML part and inserted verbatim in the text part;
 * - the subject is one line: CR, LF and other control characters are replaced (header injection);
 * - links are built from configuration only (`base_url`, `ui_prefix`, `email_link_prefix`, the `*_url_template`
 *   keys) — templates never see a request, so a `Host` or `X-Forwarded-Host` header cannot reach a link (R28).
 */
import { EMAIL_KINDS, type EmailKind, type KindTemplates } from './template-kinds.ts';
import { fillTemplate } from './template-language.ts';
import { loadTemplateOverrides, type TemplateOverrides } from './template-overrides.ts';

// The kinds and the shape of one kind's sources live in template-kinds.ts, which the override loader reads too.
export { EMAIL_KINDS, type EmailKind, type KindTemplates } from './template-kinds.ts';

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/** Where links point and whose name the mail carries; all from configuration (R28). */
export interface TemplateContext {
  appName: string;
  /** Public origin without a trailing slash (`config.baseUrl`). */
  baseUrl: string;
  /** Where the pages live (`config.uiPrefix`), e.g. `/account`. */
  uiPrefix: string;
  /** Where the three token links point; absent: regstack's own pages (`{uiPrefix}/verify` …). */
  links?: EmailLinkOptions | undefined;
}

/**
 * The configuration of the token links (Python regstack semantics, so a host's SPA routes carry over): a template
 * (`*_url_template`) wins, with `{base_url}` and `{token}` replaced literally; otherwise the link is
 * `{base_url}{prefix}/{path}?token=…`, where `prefix` is `email_link_prefix`, or `ui_prefix` when regstack serves
 * the pages (`enable_ui_router`) and `""` when the host does. Links to regstack's own pages use their names
 * (`verify`, `reset`, `confirm-email-change`); links a host serves use the Python regstack's paths (`verify`,
 * `reset-password`, `confirm-email-change`). Every part comes from configuration, never a request (R28).
 */
export interface EmailLinkOptions {
  /** `email_link_prefix`. */
  prefix?: string | undefined;
  /** `enable_ui_router`: regstack serves the pages under `ui_prefix`. */
  pages: boolean;
  /** `verify_url_template`. */
  verifyTemplate?: string | undefined;
  /** `password_reset_url_template`. */
  resetTemplate?: string | undefined;
  /** `email_change_url_template`. */
  emailChangeTemplate?: string | undefined;
}

type TokenPage = 'verify' | 'reset' | 'confirm-email-change';
/** The two plain pages every kind links to (`login_url`, `forgot_url`). */
type PlainPage = 'login' | 'forgot';

/**
 * The paths a host serves itself: the token pages as the Python regstack names them, and sign-in and "forgot
 * password" named alike (`/login`, `/forgot-password`).
 */
const HOST_PATHS: Record<TokenPage | PlainPage, string> = {
  verify: 'verify',
  reset: 'reset-password',
  'confirm-email-change': 'confirm-email-change',
  login: 'login',
  forgot: 'forgot-password',
};

/**
 * Variables every kind offers, except that `verification` leaves out `full_name` and `greeting`: the name on a
 * sign-up was typed by an unauthenticated stranger for an address nobody has proven yet, and echoing it would let
 * anyone mail text of their choosing to any inbox through the host's mail server.
 */
const COMMON_VARIABLES = ['app_name', 'base_url', 'login_url', 'forgot_url', 'support_text'] as const;
const NAME_VARIABLES = ['full_name', 'greeting'] as const;

/** The `{{variable}}` names each kind's templates may use (override files are checked against this list). */
export const TEMPLATE_VARIABLES = {
  verification: [...COMMON_VARIABLES, 'verify_url', 'expires_in'],
  account_exists: [...COMMON_VARIABLES, ...NAME_VARIABLES],
  password_reset: [...COMMON_VARIABLES, ...NAME_VARIABLES, 'reset_url', 'expires_in'],
  password_changed: [...COMMON_VARIABLES, ...NAME_VARIABLES],
  email_change_confirmation: [...COMMON_VARIABLES, ...NAME_VARIABLES, 'confirm_url', 'new_email', 'expires_in'],
  email_changed: [...COMMON_VARIABLES, ...NAME_VARIABLES, 'new_email'],
  account_deleted: [...COMMON_VARIABLES, ...NAME_VARIABLES],
  mfa_changed: [...COMMON_VARIABLES, ...NAME_VARIABLES, 'change'],
  recovery_code_used: [...COMMON_VARIABLES, ...NAME_VARIABLES, 'remaining'],
} as const satisfies Record<EmailKind, readonly string[]>;

export type TemplateVariable<K extends EmailKind> = (typeof TEMPLATE_VARIABLES)[K][number];

/** What a caller hands each kind. Token lifetimes are in seconds and rendered as "24 hours", "30 minutes". */
export interface TemplateInputs {
  verification: { token: string; ttlSeconds: number };
  account_exists: { fullName?: string | null | undefined };
  password_reset: { token: string; ttlSeconds: number; fullName?: string | null | undefined };
  password_changed: { fullName?: string | null | undefined };
  /** Sent to the NEW address; `newEmail` is that address. */
  email_change_confirmation: {
    token: string;
    ttlSeconds: number;
    newEmail: string;
    fullName?: string | null | undefined;
  };
  /** Sent to the OLD address, with the "this wasn't me" path (R43). */
  email_changed: { newEmail: string; fullName?: string | null | undefined };
  account_deleted: { fullName?: string | null | undefined };
  /** A second factor was enabled or disabled (R44); `change` says which, e.g. "An authenticator app was added". */
  mfa_changed: { change: string; fullName?: string | null | undefined };
  /** A recovery code signed someone in; `remaining` unused codes are left. */
  recovery_code_used: { remaining: number; fullName?: string | null | undefined };
}

export interface CreateTemplatesOptions extends TemplateContext {
  /**
   * Directory of override files `<kind>.subject.txt`, `<kind>.txt`, `<kind>.html` (`config.email.templatesDir`).
   * Any file may be left out: that part of that kind stays built in. Read and checked once, here: an unknown
   * `{{variable}}` or file name throws a `TemplateError` listing every problem.
   * @default undefined (built-in templates only)
   */
  templatesDir?: string | undefined;
  /**
   * The `{{support_text}}` sentence: where a user turns when a notice describes something they did not do.
   * @default 'If you need help, contact the <app name> team.'
   */
  supportText?: string | undefined;
}

/**
 * One render function per kind, plus the context it was built from — so an `EmailTemplates` can stand wherever a
 * `TemplateContext` is expected (`verificationEmail(templates, …)` then uses the overrides too).
 */
export interface EmailTemplates extends TemplateContext {
  readonly templatesDir: string | undefined;
  render<K extends EmailKind>(kind: K, input: TemplateInputs[K]): RenderedEmail;
  verification(input: TemplateInputs['verification']): RenderedEmail;
  accountExists(input?: TemplateInputs['account_exists']): RenderedEmail;
  passwordReset(input: TemplateInputs['password_reset']): RenderedEmail;
  passwordChanged(input?: TemplateInputs['password_changed']): RenderedEmail;
  emailChangeConfirmation(input: TemplateInputs['email_change_confirmation']): RenderedEmail;
  emailChanged(input: TemplateInputs['email_changed']): RenderedEmail;
  accountDeleted(input?: TemplateInputs['account_deleted']): RenderedEmail;
  mfaChanged(input: TemplateInputs['mfa_changed']): RenderedEmail;
  recoveryCodeUsed(input: TemplateInputs['recovery_code_used']): RenderedEmail;
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `{baseUrl}{uiPrefix}/{page}?token=…` — the only way a token link is built (R28). */
export function pageLink(ctx: TemplateContext, page: string, token: string): string {
  return `${ctx.baseUrl}${ctx.uiPrefix}/${page}?token=${encodeURIComponent(token)}`;
}

/** The link of a mailed token, as configured (see `EmailLinkOptions`); without `links`, regstack's own pages. */
export function tokenLink(ctx: TemplateContext, page: TokenPage, token: string): string {
  const links = ctx.links;
  if (!links) return pageLink(ctx, page, token);
  const template = {
    verify: links.verifyTemplate,
    reset: links.resetTemplate,
    'confirm-email-change': links.emailChangeTemplate,
  }[page];
  if (template) return template.replaceAll('{base_url}', ctx.baseUrl).replaceAll('{token}', token);
  return `${pageBase(ctx, page)}?token=${encodeURIComponent(token)}`;
}

/**
 * Where a mailed page lives, by the token links' rule: regstack's own page under `ui_prefix` when it serves the
 * pages and `email_link_prefix` does not point elsewhere; otherwise the host's path (HOST_PATHS) under
 * `email_link_prefix` (`""` when unset). So with the pages off, `login_url` and `forgot_url` name the host's
 * `/login` and `/forgot-password` rather than pages that do not exist.
 */
function pageBase(ctx: TemplateContext, page: TokenPage | PlainPage): string {
  const links = ctx.links;
  if (!links) return `${ctx.baseUrl}${ctx.uiPrefix}/${page}`;
  const prefix = links.prefix ?? (links.pages ? ctx.uiPrefix : '');
  const path = links.pages && prefix === ctx.uiPrefix ? page : HOST_PATHS[page];
  return `${ctx.baseUrl}${prefix}/${path}`;
}

/** One header line: control characters (CR and LF above all) become spaces, so a value cannot add headers. */
export function sanitizeSubject(subject: string): string {
  // \p{Cc} is every C0/C1 control (CR, LF, TAB, NUL…); U+2028/2029 are line breaks to some mail clients.
  return subject
    .replace(/[\p{Cc}\u2028\u2029]+/gu, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
}

/** "24 hours", "1 hour", "30 minutes", "45 seconds". */
export function formatDuration(seconds: number): string {
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (seconds >= 3600 && seconds % 3600 === 0) return unit(seconds / 3600, 'hour');
  if (seconds >= 60) return unit(Math.round(seconds / 60), 'minute');
  return unit(Math.max(0, Math.round(seconds)), 'second');
}

// ── Built-in templates ───────────────────────────────────────────────────────────────────────────────────

function htmlPage(title: string, paragraphs: string[], button?: { href: string; label: string }): string {
  const body = paragraphs.map((p) => `<p>${p}</p>`).join('\n');
  const link = button ? `\n<p><a href="${button.href}">${button.label}</a></p>` : '';
  return [
    '<!doctype html>',
    '<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"></head><body>',
    `<h1>${title}</h1>`,
    `${body}${link}`,
    '<p>— {{app_name}}</p>',
    '</body></html>',
    '',
  ].join('\n');
}

const SIGN_OFF = '— {{app_name}}\n';

/** The bundled templates; `test/src/email` checks that each uses only its kind's variables. */
export const BUILT_IN_TEMPLATES: Readonly<Record<EmailKind, KindTemplates>> = {
  verification: {
    subject: 'Confirm your email for {{app_name}}',
    text: [
      'Confirm your email address to finish creating your {{app_name}} account:',
      '',
      '{{verify_url}}',
      '',
      'The link expires in {{expires_in}}. If you did not sign up, ignore this email: no account is created.',
      '',
      SIGN_OFF,
    ].join('\n'),
    html: htmlPage(
      'Confirm your email',
      [
        'Confirm your email address to finish creating your {{app_name}} account.',
        'The link expires in {{expires_in}}. If you did not sign up, ignore this email: no account is created.',
      ],
      { href: '{{verify_url}}', label: 'Confirm email' },
    ),
  },
  account_exists: {
    subject: 'Someone tried to sign up with your email on {{app_name}}',
    text: [
      '{{greeting}}',
      '',
      'Someone tried to create a {{app_name}} account with this email address, which already has one.',
      '',
      'If it was you, sign in at {{login_url}} or reset your password at {{forgot_url}}.',
      'If not, you can ignore this email: nothing was changed.',
      '',
      SIGN_OFF,
    ].join('\n'),
    html: htmlPage(
      'Sign-up attempt',
      [
        '{{greeting}}',
        'Someone tried to create a {{app_name}} account with this email address, which already has one.',
        'If it was you, sign in, or <a href="{{forgot_url}}">reset your password</a>. If not, you can ignore this email: nothing was changed.',
      ],
      { href: '{{login_url}}', label: 'Sign in' },
    ),
  },
  password_reset: {
    subject: 'Reset your {{app_name}} password',
    text: [
      '{{greeting}}',
      '',
      'Someone asked to reset the password of your {{app_name}} account. To choose a new password, open:',
      '',
      '{{reset_url}}',
      '',
      'The link expires in {{expires_in}} and works once. If you did not ask for this, ignore this email: your password stays as it is.',
      '',
      SIGN_OFF,
    ].join('\n'),
    html: htmlPage(
      'Reset your password',
      [
        '{{greeting}}',
        'Someone asked to reset the password of your {{app_name}} account.',
        'The link expires in {{expires_in}} and works once. If you did not ask for this, ignore this email: your password stays as it is.',
      ],
      { href: '{{reset_url}}', label: 'Choose a new password' },
    ),
  },
  password_changed: {
    subject: 'Your {{app_name}} password was changed',
    text: [
      '{{greeting}}',
      '',
      'The password of your {{app_name}} account was just changed, and every other session was signed out.',
      '',
      'If this was you, there is nothing to do.',
      'If it was not, reset your password now at {{forgot_url}} — {{support_text}}',
      '',
      SIGN_OFF,
    ].join('\n'),
    html: htmlPage('Your password was changed', [
      '{{greeting}}',
      'The password of your {{app_name}} account was just changed, and every other session was signed out.',
      'If this was you, there is nothing to do. If it was not, <a href="{{forgot_url}}">reset your password now</a>. {{support_text}}',
    ]),
  },
  email_change_confirmation: {
    subject: 'Confirm your new email for {{app_name}}',
    text: [
      '{{greeting}}',
      '',
      'To make {{new_email}} the email address of your {{app_name}} account, open:',
      '',
      '{{confirm_url}}',
      '',
      'The link expires in {{expires_in}} and works once. If you did not ask for this, ignore this email: nothing changes.',
      '',
      SIGN_OFF,
    ].join('\n'),
    html: htmlPage(
      'Confirm your new email',
      [
        '{{greeting}}',
        'To make {{new_email}} the email address of your {{app_name}} account, confirm it.',
        'The link expires in {{expires_in}} and works once. If you did not ask for this, ignore this email: nothing changes.',
      ],
      { href: '{{confirm_url}}', label: 'Confirm new email' },
    ),
  },
  email_changed: {
    subject: 'The email address of your {{app_name}} account is changing',
    text: [
      '{{greeting}}',
      '',
      'Someone signed in to your {{app_name}} account asked to change its email address from this one to {{new_email}}.',
      'Once the new address is confirmed, sign-in and notices use it and this address no longer does.',
      '',
      'If this was you, there is nothing to do.',
      'This wasn\u2019t me: reset your password now at {{forgot_url}} (this signs out every session) — {{support_text}}',
      '',
      SIGN_OFF,
    ].join('\n'),
    html: htmlPage('Your email address is changing', [
      '{{greeting}}',
      'Someone signed in to your {{app_name}} account asked to change its email address from this one to {{new_email}}.',
      'Once the new address is confirmed, sign-in and notices use it and this address no longer does.',
      'If this was you, there is nothing to do.',
      '<strong>This wasn\u2019t me:</strong> <a href="{{forgot_url}}">reset your password now</a> (this signs out every session). {{support_text}}',
    ]),
  },
  account_deleted: {
    subject: 'Your {{app_name}} account was deleted',
    text: [
      '{{greeting}}',
      '',
      'Your {{app_name}} account and the data that belonged to it were deleted, and every session was signed out.',
      '',
      'If you did not ask for this: {{support_text}}',
      '',
      SIGN_OFF,
    ].join('\n'),
    html: htmlPage('Your account was deleted', [
      '{{greeting}}',
      'Your {{app_name}} account and the data that belonged to it were deleted, and every session was signed out.',
      'If you did not ask for this: {{support_text}}',
    ]),
  },
  mfa_changed: {
    subject: 'Two-factor sign-in changed on your {{app_name}} account',
    text: [
      '{{greeting}}',
      '',
      '{{change}} on your {{app_name}} account, and every other session was signed out.',
      '',
      'If this was you, there is nothing to do.',
      'If it was not, reset your password now at {{forgot_url}} (this signs out every session) — {{support_text}}',
      '',
      SIGN_OFF,
    ].join('\n'),
    html: htmlPage('Two-factor sign-in changed', [
      '{{greeting}}',
      '{{change}} on your {{app_name}} account, and every other session was signed out.',
      'If this was you, there is nothing to do. If it was not, <a href="{{forgot_url}}">reset your password now</a>. {{support_text}}',
    ]),
  },
  recovery_code_used: {
    subject: 'A recovery code was used to sign in to {{app_name}}',
    text: [
      '{{greeting}}',
      '',
      'One of your {{app_name}} recovery codes was just used to sign in. It cannot be used again; {{remaining}} remain.',
      '',
      'If this was you, consider generating a new set of codes.',
      'If it was not, reset your password now at {{forgot_url}} — {{support_text}}',
      '',
      SIGN_OFF,
    ].join('\n'),
    html: htmlPage('A recovery code was used', [
      '{{greeting}}',
      'One of your {{app_name}} recovery codes was just used to sign in. It cannot be used again; {{remaining}} remain.',
      'If this was you, consider generating a new set of codes. If it was not, <a href="{{forgot_url}}">reset your password now</a>. {{support_text}}',
    ]),
  },
};

// ── Rendering ────────────────────────────────────────────────────────────────────────────────────────────

type Values<K extends EmailKind> = Record<TemplateVariable<K>, string>;

function kindValues<K extends EmailKind>(
  ctx: TemplateContext,
  supportText: string,
  kind: K,
  input: TemplateInputs[K],
): Values<K> {
  const i = input as Partial<{
    token: string;
    ttlSeconds: number;
    fullName: string | null;
    newEmail: string;
    change: string;
    remaining: number;
  }>;
  const fullName = i.fullName?.trim() ?? '';
  const common: Record<string, string> = {
    app_name: ctx.appName,
    base_url: ctx.baseUrl,
    login_url: pageBase(ctx, 'login'),
    forgot_url: pageBase(ctx, 'forgot'),
    support_text: supportText,
    full_name: fullName,
    greeting: fullName ? `Hello ${fullName},` : 'Hello,',
    expires_in: i.ttlSeconds === undefined ? '' : formatDuration(i.ttlSeconds),
    new_email: i.newEmail ?? '',
    change: i.change ?? '',
    remaining: i.remaining === undefined ? '' : String(i.remaining),
  };
  const token = i.token ?? '';
  if (kind === 'verification') common.verify_url = tokenLink(ctx, 'verify', token);
  if (kind === 'password_reset') common.reset_url = tokenLink(ctx, 'reset', token);
  if (kind === 'email_change_confirmation') common.confirm_url = tokenLink(ctx, 'confirm-email-change', token);
  // Only the kind's own variables go further, so a template can never reach a value it does not document.
  const values: Record<string, string> = {};
  for (const name of TEMPLATE_VARIABLES[kind]) values[name] = common[name] ?? '';
  return values as Values<K>;
}

function renderKind<K extends EmailKind>(templates: KindTemplates, values: Values<K>): RenderedEmail {
  const v = values as Record<string, string>;
  const identity = (value: string) => value;
  return {
    subject: sanitizeSubject(fillTemplate(templates.subject, v, identity)),
    text: fillTemplate(templates.text, v, identity),
    html: fillTemplate(templates.html, v, escapeHtml),
  };
}

/**
 * Builds the render functions for one regstack instance. With `templatesDir`, the override files are read and
 * checked now (fail fast): a bad file stops startup with a message naming the file and the problem.
 */
export function createTemplates(options: CreateTemplatesOptions): EmailTemplates {
  const ctx: TemplateContext = {
    appName: options.appName,
    baseUrl: options.baseUrl,
    uiPrefix: options.uiPrefix,
    links: options.links,
  };
  const supportText = options.supportText ?? `If you need help, contact the ${options.appName} team.`;
  const overrides: TemplateOverrides = options.templatesDir
    ? loadTemplateOverrides(options.templatesDir, TEMPLATE_VARIABLES)
    : {};
  const sources = {} as Record<EmailKind, KindTemplates>;
  for (const kind of EMAIL_KINDS) sources[kind] = { ...BUILT_IN_TEMPLATES[kind], ...overrides[kind] };

  function render<K extends EmailKind>(kind: K, input: TemplateInputs[K]): RenderedEmail {
    return renderKind(sources[kind], kindValues(ctx, supportText, kind, input));
  }

  return {
    ...ctx,
    templatesDir: options.templatesDir,
    render,
    verification: (input) => render('verification', input),
    accountExists: (input = {}) => render('account_exists', input),
    passwordReset: (input) => render('password_reset', input),
    passwordChanged: (input = {}) => render('password_changed', input),
    emailChangeConfirmation: (input) => render('email_change_confirmation', input),
    emailChanged: (input) => render('email_changed', input),
    accountDeleted: (input = {}) => render('account_deleted', input),
    mfaChanged: (input) => render('mfa_changed', input),
    recoveryCodeUsed: (input) => render('recovery_code_used', input),
  };
}

function isEmailTemplates(ctx: TemplateContext): ctx is EmailTemplates {
  return typeof (ctx as Partial<EmailTemplates>).render === 'function';
}

/** The templates behind `ctx`: its own when it is an `EmailTemplates` (overrides apply), else the built-ins. */
function templatesOf(ctx: TemplateContext): EmailTemplates {
  return isEmailTemplates(ctx) ? ctx : createTemplates(ctx);
}

/** The verification message (kind `verification`); `ttlHours` is the link lifetime. */
export function verificationEmail(ctx: TemplateContext, token: string, ttlHours: number): RenderedEmail {
  return templatesOf(ctx).verification({ token, ttlSeconds: ttlHours * 3600 });
}

/** Sent instead of a verification link when someone registers with an address that already has an account (R12). */
export function accountExistsEmail(ctx: TemplateContext): RenderedEmail {
  return templatesOf(ctx).accountExists();
}
