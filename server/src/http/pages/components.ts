/**
 * The pages' shared pieces: one layout (brand header, one or more cards, footer) and the form parts every page
 * uses — a field whose label, hint and error are tied to the input (`aria-describedby`, `aria-invalid`), so a
 * screen reader announces the error with the field; a notice announced on arrival (`role="status"` or `"alert"`);
 * buttons; and the form with its CSRF token (R57). Password inputs carry the `autocomplete` password managers
 * read (R61). No inline script or style anywhere (R59).
 */
import type { ReauthenticationInfo } from '@regstack/shared';
import type { JSX, VNode } from 'preact';
import { type Child, el } from './html.ts';

/** What every page shows of the configuration. */
export interface PageChrome {
  appName: string;
  uiPrefix: string;
  staticPrefix: string;
  /** `brand_logo_url` */
  brandLogoUrl?: string | undefined;
  /** `brand_tagline` */
  brandTagline?: string | undefined;
  /** `theme_css_url`: loaded after the bundled theme, so its `--rs-*` values win. */
  themeCssUrl?: string | undefined;
  /** Set on every signed-in page of an impersonation session: the banner naming the administrator (admin-pages.ts). */
  impersonation?: ImpersonationBanner | undefined;
}

/** Who is acting as whom, and the form that ends it (docs/pages.md, "Impersonation"). */
export interface ImpersonationBanner {
  adminEmail: string;
  userEmail: string;
  /** The CSRF token of this (impersonation) session, for the stop form. */
  csrf: string;
  /** Where the stop form posts. */
  stopAction: string;
}

/**
 * The impersonation banner, first on the page: an administrator acting as a user must never mistake the account for
 * their own, and the way back is one form away.
 */
function ImpersonationNotice(props: { banner: ImpersonationBanner }): VNode {
  const { banner } = props;
  return el(
    'aside',
    { class: 'rs-impersonation', 'aria-label': 'Impersonation' },
    el(
      'p',
      null,
      'You are signed in as ',
      el('strong', null, banner.userEmail),
      ' by the administrator ',
      el('strong', null, banner.adminEmail),
      '. The password, email address, two-factor settings and deletion are locked meanwhile.',
    ),
    Form({
      action: banner.stopAction,
      csrf: banner.csrf,
      children: Button({ label: 'Stop impersonating', variant: 'danger', small: true }),
    }),
  );
}

export function Layout(props: {
  chrome: PageChrome;
  title: string;
  /** `true`: room for several cards; `'full'`: room for a table (the admin page). */
  wide?: boolean | 'full';
  children: Child;
}): VNode {
  const { chrome } = props;
  return el(
    'html',
    { lang: 'en' },
    el(
      'head',
      null,
      el('meta', { charset: 'utf-8' }),
      el('meta', { name: 'viewport', content: 'width=device-width, initial-scale=1' }),
      // No address of a page reaches another site through Referer (R29), while a form posted here still carries
      // its Origin (a `no-referrer` page posts `Origin: null`, which the origin check must refuse, R57).
      el('meta', { name: 'referrer', content: 'same-origin' }),
      el('link', { rel: 'icon', href: 'data:,' }),
      el('title', null, `${props.title} · ${chrome.appName}`),
      el('link', { rel: 'stylesheet', href: `${chrome.staticPrefix}/regstack.css` }),
      chrome.themeCssUrl ? el('link', { rel: 'stylesheet', href: chrome.themeCssUrl }) : null,
    ),
    el(
      'body',
      null,
      chrome.impersonation ? ImpersonationNotice({ banner: chrome.impersonation }) : null,
      el(
        'header',
        { class: 'rs-header' },
        el(
          'a',
          { class: 'rs-brand', href: `${chrome.uiPrefix}/me` },
          chrome.brandLogoUrl ? el('img', { class: 'rs-brand-logo', src: chrome.brandLogoUrl, alt: '' }) : null,
          el('span', null, chrome.appName),
        ),
        chrome.brandTagline ? el('p', { class: 'rs-tagline' }, chrome.brandTagline) : null,
      ),
      el(
        'main',
        { class: props.wide === 'full' ? 'rs-main rs-full' : props.wide ? 'rs-main rs-wide' : 'rs-main' },
        props.children,
      ),
      el('footer', { class: 'rs-footer' }, el('span', null, 'Account pages by regstack')),
    ),
  );
}

export function Card(props: { title?: string; heading?: 'h1' | 'h2'; lead?: string; id?: string; children?: Child }) {
  const heading = props.heading ?? 'h1';
  const headingId = props.id ? `${props.id}-title` : undefined;
  return el(
    'section',
    { class: 'rs-card', ...(props.id && { id: props.id }), ...(headingId && { 'aria-labelledby': headingId }) },
    props.title ? el(heading, headingId ? { id: headingId } : null, props.title) : null,
    props.lead ? el('p', { class: 'rs-lead' }, props.lead) : null,
    props.children,
  );
}

export interface FieldProps {
  /** Unique on the page; also the base of the hint and error ids. */
  id: string;
  name: string;
  label: string;
  type?: 'text' | 'email' | 'password' | 'hidden' | 'tel';
  autocomplete?: string;
  /** The on-screen keyboard to offer (`numeric` for a code). */
  inputMode?: 'numeric' | 'text' | 'tel';
  value?: string | undefined;
  required?: boolean;
  minLength?: number;
  maxLength?: number;
  /** Shown under the input and read with it. */
  hint?: Child;
  /** Messages for this field from the last submission; the field is marked invalid while there are any. */
  errors?: readonly string[] | undefined;
  autofocus?: boolean;
}

export function Field(props: FieldProps): VNode {
  const hintId = props.hint ? `${props.id}-hint` : undefined;
  const errorId = props.errors?.length ? `${props.id}-error` : undefined;
  const describedBy = [errorId, hintId].filter(Boolean).join(' ') || undefined;
  return el(
    'div',
    { class: 'rs-field' },
    el('label', { for: props.id }, props.label),
    el('input', {
      // Preact types `input` as a union by `type`; this one field covers four of them.
      id: props.id,
      name: props.name,
      type: props.type ?? 'text',
      ...(props.autocomplete && { autocomplete: props.autocomplete }),
      ...(props.inputMode && { inputMode: props.inputMode }),
      ...(props.value !== undefined && props.type !== 'password' && { value: props.value }),
      ...(props.required && { required: true }),
      ...(props.minLength !== undefined && { minLength: props.minLength }),
      ...(props.maxLength !== undefined && { maxLength: props.maxLength }),
      ...(describedBy && { 'aria-describedby': describedBy }),
      ...(errorId && { 'aria-invalid': 'true' as const }),
      ...(props.autofocus && { autofocus: true }),
    } as JSX.IntrinsicElements['input']),
    errorId ? el('p', { id: errorId, class: 'rs-error' }, props.errors?.join(' ')) : null,
    hintId ? el('div', { id: hintId, class: 'rs-hint' }, props.hint) : null,
  );
}

export function Button(props: {
  label: string;
  variant?: 'primary' | 'secondary' | 'danger';
  small?: boolean;
  name?: string;
  value?: string;
}): VNode {
  const classes = ['rs-button'];
  if (props.variant === 'secondary') classes.push('rs-button-secondary');
  if (props.variant === 'danger') classes.push('rs-button-danger');
  if (props.small) classes.push('rs-button-small');
  return el(
    'button',
    { type: 'submit', class: classes.join(' '), ...(props.name && { name: props.name, value: props.value }) },
    props.label,
  );
}

/** A message announced when the page loads: `status` for news, `alert` for a failure. */
export function Notice(props: { kind: 'success' | 'error'; text: string; id?: string }): VNode {
  return el(
    'div',
    {
      class: props.kind === 'error' ? 'rs-notice rs-notice-error' : 'rs-notice',
      role: props.kind === 'error' ? 'alert' : 'status',
      ...(props.id && { id: props.id }),
    },
    el('p', null, props.text),
  );
}

/** A POST form carrying the CSRF token of this page view (R57). */
export function Form(props: {
  action: string;
  csrf: string;
  inline?: boolean;
  label?: string;
  children: Child;
}): VNode {
  return el(
    'form',
    {
      method: 'post',
      action: props.action,
      ...(props.inline && { class: 'rs-inline' }),
      ...(props.label && { 'aria-label': props.label }),
    },
    el('input', { type: 'hidden', name: 'csrf', value: props.csrf }),
    props.children,
  );
}

export function Links(props: { links: readonly { href: string; label: string }[] }): VNode {
  return el('p', { class: 'rs-links' }, ...props.links.map((l) => el('a', { href: l.href }, l.label)));
}

/**
 * The re-authentication every sensitive form carries: the current-password field (`autocomplete=current-password`),
 * or, for an account without a password (`reauth.method === 'recent_sign_in'`), a line saying the recent sign-in
 * stands in for it — and until when — or that the owner must sign in again first.
 */
export function CurrentPassword(props: {
  id: string;
  errors?: string[] | undefined;
  reauth?: ReauthenticationInfo | undefined;
}): VNode {
  const { reauth } = props;
  if (reauth?.method === 'recent_sign_in') {
    const text = reauth.fresh
      ? `Your account has no password: your recent sign-in confirms it is you until ${utcTime.format(reauth.until)} UTC.`
      : 'Your account has no password, and this needs a recent sign-in: sign out and sign in again first.';
    return el(
      'div',
      { class: 'rs-field', id: props.id },
      el('p', { class: 'rs-muted' }, text),
      ...(props.errors ?? []).map((message) => el('p', { class: 'rs-error', role: 'alert' }, message)),
    );
  }
  return Field({
    id: props.id,
    name: 'currentPassword',
    label: 'Current password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
    maxLength: 512,
    errors: props.errors,
  });
}

const utcTime = new Intl.DateTimeFormat('en', { timeStyle: 'short', timeZone: 'UTC' });
