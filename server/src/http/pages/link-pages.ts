/**
 * The pages behind the links regstack mails: `{ui_prefix}/verify`, `/reset` and `/confirm-email-change`.
 * Each is a small server-rendered form; submitting it calls the JSON API (see assets.ts). Every page is
 * sent with a strict CSP (no inline code, `'self'` only, no framing), `Referrer-Policy: no-referrer` and
 * `Cache-Control: no-store` (R29, R59); every reflected value is HTML-escaped (R60); password fields carry
 * the right `autocomplete` so password managers work (R61). The verify page holds a hidden password step that
 * its script reveals when the server answers PASSWORD_REQUIRED (several sign-ups pending for the address, or a
 * resent link, R67).
 */
import { escapeHtml } from '../../email/templates.ts';

export interface LinkPageConfig {
  appName: string;
  apiPrefix: string;
  staticPrefix: string;
}

interface PageSpec {
  title: string;
  intro: string;
  procedure: string;
  button: string;
  success: string;
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
    signUpPasswordStep: true,
  },
  reset: {
    title: 'Choose a new password',
    intro: 'Pick a new password: at least 12 characters; a few unrelated words make a strong one.',
    procedure: 'auth.resetPassword',
    button: 'Set new password',
    success: 'Your password has been changed and every session signed out. Sign in with the new password.',
    passwordField: true,
  },
  'confirm-email-change': {
    title: 'Confirm your new email',
    intro: 'Confirm this address to make it the email of your account.',
    procedure: 'auth.account.confirmEmailChange',
    button: 'Confirm new email',
    success: 'Your email address has been changed. Sign in again with the new address.',
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

/** The page's HTML, or null when `name` is not a link page. */
export function renderLinkPage(name: string, config: LinkPageConfig): string | null {
  const spec = Object.hasOwn(PAGES, name) ? PAGES[name] : undefined;
  if (!spec) return null;
  const e = escapeHtml;
  const password = spec.passwordField
    ? `<label for="rs-new-password">New password</label>
      <input id="rs-new-password" name="new-password" type="password" autocomplete="new-password" required minlength="8" maxlength="512">`
    : '';
  const signUpPassword = spec.signUpPasswordStep
    ? `<div id="rs-password-step" hidden>
        <label for="rs-password">The password you chose when you signed up</label>
        <input id="rs-password" name="password" type="password" autocomplete="current-password" maxlength="512">
      </div>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="referrer" content="no-referrer">
  <link rel="icon" href="data:,">
  <title>${e(spec.title)} · ${e(config.appName)}</title>
  <link rel="stylesheet" href="${e(config.staticPrefix)}/regstack.css">
  <script src="${e(config.staticPrefix)}/link-pages.js" defer></script>
</head>
<body data-api="${e(config.apiPrefix)}" data-procedure="${e(spec.procedure)}" data-success="${e(spec.success)}">
  <main>
    <h1>${e(spec.title)}</h1>
    <p>${e(spec.intro)}</p>
    <form id="rs-form" method="post" action="#" novalidate>
      ${password}${signUpPassword}
      <button type="submit">${e(spec.button)}</button>
    </form>
    <p id="rs-status" class="rs-status" role="status" aria-live="polite"></p>
  </main>
</body>
</html>
`;
}
