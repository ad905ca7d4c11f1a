/**
 * The pages behind the links regstack mails: `{ui_prefix}/verify`, `/reset` and `/confirm-email-change`.
 * Each is a small server-rendered form; submitting it calls the JSON API (see assets.ts). Every page is
 * sent with a strict CSP (no inline code, `'self'` only, no framing), `Referrer-Policy: no-referrer` and
 * `Cache-Control: no-store` (R29, R59); every reflected value is HTML-escaped (R60); password fields carry
 * the right `autocomplete` so password managers work (R61). The verify page holds a hidden password step that
 * its script reveals when the server answers PASSWORD_REQUIRED (several sign-ups pending for the address, or a
 * resent link, R67). A success message links onward to `base_url`, the app's public origin (the only
 * configured place where a user signs in); the reset page states the password rules of this deployment's
 * configuration (`password_min_length`, `password_max_length`, the common-password and personal-word checks)
 * and its field's `minlength` follows `password_min_length`, so the page never promises another policy than
 * the server enforces (issue 16 item 6).
 */
import { escapeHtml } from '../../email/templates.ts';

export interface LinkPageConfig {
  appName: string;
  apiPrefix: string;
  staticPrefix: string;
  /** Where the "Sign in" link after a success leads: `base_url`, the app's public origin. */
  baseUrl: string;
  /** `password_min_length` and `password_max_length`, in code points (R1, R2). */
  passwordMinLength: number;
  passwordMaxLength: number;
}

interface PageSpec {
  title: string;
  intro: string;
  procedure: string;
  button: string;
  success: string;
  /** The label of the link shown after a success, which leads to `base_url`. */
  next: string;
  passwordField?: boolean;
  /** A hidden "password you chose at sign-up" step, shown when the server asks for it (R67). */
  signUpPasswordStep?: boolean;
}

const PAGES: Record<string, PageSpec> = {
  verify: {
    title: 'Confirm your email',
    intro: 'Confirm this address to finish creating your account.',
    procedure: 'auth.verifyEmail',
    button: 'Confirm my email',
    success: 'Your email is confirmed. You can now sign in.',
    next: 'Sign in',
    signUpPasswordStep: true,
  },
  reset: {
    title: 'Choose a new password',
    intro: 'Pick a new password for your account. A few unrelated words make a strong one.',
    procedure: 'auth.resetPassword',
    button: 'Set new password',
    success: 'Your password has been changed and every session signed out. Sign in with the new password.',
    next: 'Sign in',
    passwordField: true,
  },
  'confirm-email-change': {
    title: 'Confirm your new email',
    intro: 'Confirm this address to make it the email of your account.',
    procedure: 'auth.account.confirmEmailChange',
    button: 'Confirm new email',
    success: 'Your email address has been changed. Sign in again with the new address.',
    next: 'Sign in',
  },
};

export const PAGE_SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'; object-src 'none'",
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};

/**
 * The rules a new password must meet, worded from this deployment's configuration: the checks of
 * security/password-blocklist.ts (length R1/R2, the common-password list and the personal words R5), and no
 * composition rules (R4).
 */
export function passwordRules(config: Pick<LinkPageConfig, 'appName' | 'passwordMinLength' | 'passwordMaxLength'>) {
  return [
    `From ${config.passwordMinLength} to ${config.passwordMaxLength} characters. Spaces, emoji and every script count; no particular kinds of characters are required.`,
    'Not a common or breached password, nor one with only digits or symbols added to it, nor one repeated.',
    `Not containing part of your email address or the name of this service (${config.appName}).`,
  ];
}

/** The page's HTML, or null when `name` is not a link page. */
/**
 * The start of every regstack page, up to its `<body>`: no referrer (a link's token must not leak to another
 * site), no favicon request, the pages' stylesheet under `staticPrefix`, and `extra` (already escaped) in the head.
 */
export function pageHead(title: string, staticPrefix: string, extra = ''): string {
  const e = escapeHtml;
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="referrer" content="no-referrer">
  <link rel="icon" href="data:,">
  <title>${e(title)}</title>
  <link rel="stylesheet" href="${e(staticPrefix)}/regstack.css">${extra}
</head>`;
}

export function renderLinkPage(name: string, config: LinkPageConfig): string | null {
  const spec = Object.hasOwn(PAGES, name) ? PAGES[name] : undefined;
  if (!spec) return null;
  const e = escapeHtml;
  // `minlength` follows password_min_length (a hint for password managers' generators; the form is `novalidate`
  // and the server decides). `maxlength` stays at the byte cap (512): any password the server accepts is at most
  // that many UTF-16 units, while a cap of password_max_length would cut off a valid password of astral
  // characters (two UTF-16 units per code point) as it is typed.
  const password = spec.passwordField
    ? `<label for="rs-new-password">New password</label>
      <ul id="rs-password-rules" class="rs-rules">
        ${passwordRules(config)
          .map((rule) => `<li>${e(rule)}</li>`)
          .join('\n        ')}
      </ul>
      <input id="rs-new-password" name="new-password" type="password" autocomplete="new-password" required minlength="${config.passwordMinLength}" maxlength="512" passwordrules="minlength: ${config.passwordMinLength}; maxlength: ${config.passwordMaxLength};" aria-describedby="rs-password-rules">`
    : '';
  const signUpPassword = spec.signUpPasswordStep
    ? `<div id="rs-password-step" hidden>
        <label for="rs-password">The password you chose when you signed up</label>
        <input id="rs-password" name="password" type="password" autocomplete="current-password" maxlength="512">
      </div>`
    : '';
  const script = `\n  <script src="${e(config.staticPrefix)}/link-pages.js" defer></script>`;
  return `${pageHead(`${spec.title} · ${config.appName}`, config.staticPrefix, script)}
<body data-api="${e(config.apiPrefix)}" data-procedure="${e(spec.procedure)}" data-success="${e(spec.success)}">
  <main>
    <h1>${e(spec.title)}</h1>
    <p>${e(spec.intro)}</p>
    <form id="rs-form" method="post" action="#" novalidate>
      ${password}${signUpPassword}
      <button type="submit">${e(spec.button)}</button>
    </form>
    <p id="rs-status" class="rs-status" role="status" aria-live="polite"></p>
    <p id="rs-next" class="rs-next" hidden><a href="${e(`${config.baseUrl}/`)}">${e(spec.next)}</a></p>
  </main>
</body>
</html>
`;
}

/** Each link page's name (the path under `ui_prefix`) and title, for the development index. */
export function linkPageList(): { name: string; title: string }[] {
  return Object.entries(PAGES).map(([name, spec]) => ({ name, title: spec.title }));
}

/** The page texts, for the punctuation rule's test: prose ends with a period, titles, labels and buttons do not. */
export function linkPageTexts(): { prose: string[]; labels: string[] } {
  const specs = Object.values(PAGES);
  return {
    prose: specs.flatMap((s) => [s.intro, s.success]),
    labels: specs.flatMap((s) => [s.title, s.button, s.next]),
  };
}
