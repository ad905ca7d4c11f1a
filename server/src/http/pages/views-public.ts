/**
 * The signed-out pages: sign in, sign up, forgot password, and the three pages behind mailed links (confirm the
 * email, choose a new password, confirm a new email). Each is one card with one POST form, usable without
 * JavaScript; a refused submission comes back with each message next to its field (R61 autocomplete values
 * throughout). The link pages never show the token: it waits in an HttpOnly cookie (page-session.ts).
 */
import type { VNode } from 'preact';
import { Button, Card, Field, Form, Layout, Links, Notice, type PageChrome } from './components.ts';
import { el } from './html.ts';
import { type PageOAuth, providerButtons } from './views-oauth.ts';

/** What a refused submission brings back: the values to refill (never passwords) and the messages. */
export interface FormState {
  values?: Record<string, string>;
  fieldErrors?: Record<string, string[]>;
  /** A message about the whole form (shown on top, announced). */
  formError?: string;
  /** A notice from a redirect (`?status=`). */
  notice?: string;
}

export interface PublicPageConfig extends PageChrome {
  passwordMinLength: number;
  passwordMaxLength: number;
  allowRegistration: boolean;
  enablePasswordReset: boolean;
  /** Sign-in with a provider (`enable_oauth` with providers): the "Continue with …" links. */
  oauth?: PageOAuth | undefined;
}

/** The top of a card: the redirect's notice, or the form's own error. */
function notices(state: FormState) {
  return [
    state.notice ? Notice({ kind: 'success', text: state.notice }) : null,
    state.formError ? Notice({ kind: 'error', text: state.formError, id: 'rs-form-error' }) : null,
  ];
}

/**
 * The password rules of this deployment (security/password-blocklist.ts: length R1/R2, the common-password list
 * and personal words R5; no composition rules R4), shown under every new-password field.
 */
export function passwordRules(config: Pick<PublicPageConfig, 'appName' | 'passwordMinLength' | 'passwordMaxLength'>) {
  return [
    `From ${config.passwordMinLength} to ${config.passwordMaxLength} characters. Spaces, emoji and every script count; no particular kinds of characters are required.`,
    'Not a common or breached password, nor one with only digits or symbols added to it, nor one repeated.',
    `Not containing part of your email address or the name of this service (${config.appName}).`,
  ];
}

export function NewPasswordField(
  config: PublicPageConfig,
  props: { id: string; name: string; label: string; errors?: string[] | undefined },
) {
  // `maxlength` stays at the byte cap (512 UTF-16 units): a cap of password_max_length would cut off a valid
  // password of astral characters as it is typed. The server decides either way.
  return Field({
    id: props.id,
    name: props.name,
    label: props.label,
    type: 'password',
    autocomplete: 'new-password',
    required: true,
    minLength: config.passwordMinLength,
    maxLength: 512,
    errors: props.errors,
    hint: el('ul', null, ...passwordRules(config).map((rule) => el('li', null, rule))),
  });
}

export function loginPage(config: PublicPageConfig, csrf: string, next: string | null, state: FormState): VNode {
  const ui = config.uiPrefix;
  const links = [
    ...(config.allowRegistration ? [{ href: `${ui}/register`, label: 'Create an account' }] : []),
    ...(config.enablePasswordReset ? [{ href: `${ui}/forgot`, label: 'Forgot your password?' }] : []),
  ];
  return Layout({
    chrome: config,
    title: 'Sign in',
    children: Card({
      title: 'Sign in',
      lead: `Welcome back to ${config.appName}.`,
      children: [
        ...notices(state),
        Form({
          action: `${ui}/login`,
          csrf,
          children: [
            next ? el('input', { type: 'hidden', name: 'next', value: next }) : null,
            Field({
              id: 'login-email',
              name: 'email',
              label: 'Email address',
              type: 'email',
              autocomplete: 'username',
              required: true,
              value: state.values?.email,
              errors: state.fieldErrors?.email,
            }),
            Field({
              id: 'login-password',
              name: 'password',
              label: 'Password',
              type: 'password',
              autocomplete: 'current-password',
              required: true,
              maxLength: 512,
              errors: state.fieldErrors?.password,
            }),
            Button({ label: 'Sign in' }),
          ],
        }),
        providerButtons(config.oauth, ui, next),
        links.length ? Links({ links }) : null,
      ],
    }),
  });
}

export function registerPage(config: PublicPageConfig, csrf: string, state: FormState): VNode {
  const ui = config.uiPrefix;
  const body = config.allowRegistration
    ? Form({
        action: `${ui}/register`,
        csrf,
        children: [
          Field({
            id: 'register-name',
            name: 'fullName',
            label: 'Full name (optional)',
            autocomplete: 'name',
            value: state.values?.fullName,
            errors: state.fieldErrors?.fullName,
          }),
          Field({
            id: 'register-email',
            name: 'email',
            label: 'Email address',
            type: 'email',
            autocomplete: 'username',
            required: true,
            value: state.values?.email,
            errors: state.fieldErrors?.email,
          }),
          NewPasswordField(config, {
            id: 'register-password',
            name: 'password',
            label: 'Password',
            errors: state.fieldErrors?.password,
          }),
          Button({ label: 'Create account' }),
        ],
      })
    : null;
  return Layout({
    chrome: config,
    title: 'Create an account',
    children: Card({
      title: 'Create an account',
      lead: config.allowRegistration ? `Sign up for ${config.appName}.` : 'Sign-up is closed on this site.',
      children: [
        ...notices(state),
        body,
        config.allowRegistration ? providerButtons(config.oauth, ui, null) : null,
        Links({ links: [{ href: `${ui}/login`, label: 'Already have an account? Sign in' }] }),
      ],
    }),
  });
}

export function forgotPage(config: PublicPageConfig, csrf: string, state: FormState): VNode {
  const ui = config.uiPrefix;
  return Layout({
    chrome: config,
    title: 'Forgot your password',
    children: Card({
      title: 'Forgot your password?',
      lead: 'Enter your email address and we will send you a link to choose a new password.',
      children: [
        ...notices(state),
        config.enablePasswordReset
          ? Form({
              action: `${ui}/forgot`,
              csrf,
              children: [
                Field({
                  id: 'forgot-email',
                  name: 'email',
                  label: 'Email address',
                  type: 'email',
                  autocomplete: 'username',
                  required: true,
                  value: state.values?.email,
                  errors: state.fieldErrors?.email,
                }),
                Button({ label: 'Send the link' }),
              ],
            })
          : Notice({ kind: 'error', text: 'Password reset is turned off on this site.' }),
        Links({ links: [{ href: `${ui}/login`, label: 'Back to sign in' }] }),
      ],
    }),
  });
}

export type LinkPageName = 'verify' | 'reset' | 'confirm-email-change';

const LINK_PAGES: Record<LinkPageName, { title: string; lead: string; button: string }> = {
  verify: {
    title: 'Confirm your email',
    lead: 'Confirm this address to finish creating your account.',
    button: 'Confirm my email',
  },
  reset: {
    title: 'Choose a new password',
    lead: 'Pick a new password for your account. A few unrelated words make a strong one.',
    button: 'Set new password',
  },
  'confirm-email-change': {
    title: 'Confirm your new email',
    lead: 'Confirm this address to make it the email of your account.',
    button: 'Confirm new email',
  },
};

/** Each link page's name and title (the development index lists them). */
export function linkPageList(): { name: LinkPageName; title: string }[] {
  return (Object.keys(LINK_PAGES) as LinkPageName[]).map((name) => ({ name, title: LINK_PAGES[name].title }));
}

/** The link pages' texts, for the punctuation rule's test: prose ends with a period, titles and buttons do not. */
export function linkPageTexts(): { prose: string[]; labels: string[] } {
  const specs = Object.values(LINK_PAGES);
  return { prose: specs.map((s) => s.lead), labels: specs.flatMap((s) => [s.title, s.button]) };
}

/**
 * A mailed link's page. `hasToken` false: the link was incomplete or its token is gone (used, or the cookie
 * expired) — no form. `askPassword`: the verify page's step for the sign-up's password (R67).
 */
export function linkPage(
  config: PublicPageConfig,
  name: LinkPageName,
  csrf: string,
  opts: { hasToken: boolean; askPassword?: boolean },
  state: FormState,
): VNode {
  const spec = LINK_PAGES[name];
  const ui = config.uiPrefix;
  const fields =
    name === 'reset'
      ? [
          NewPasswordField(config, {
            id: 'reset-password',
            name: 'newPassword',
            label: 'New password',
            errors: state.fieldErrors?.newPassword,
          }),
        ]
      : name === 'verify' && opts.askPassword
        ? [
            Field({
              id: 'verify-password',
              name: 'password',
              label: 'The password you chose when you signed up',
              type: 'password',
              autocomplete: 'current-password',
              required: true,
              maxLength: 512,
              autofocus: true,
              errors: state.fieldErrors?.password,
            }),
          ]
        : [];
  return Layout({
    chrome: config,
    title: spec.title,
    children: Card({
      title: spec.title,
      lead: spec.lead,
      children: [
        ...notices(state),
        opts.hasToken
          ? Form({ action: `${ui}/${name}`, csrf, children: [...fields, Button({ label: spec.button })] })
          : Notice({
              kind: 'error',
              text: 'This link is incomplete or has already been used. Open the link from the email again, or ask for a new one.',
            }),
        Links({ links: [{ href: `${ui}/login`, label: 'Sign in' }] }),
      ],
    }),
  });
}

/** A plain page with one message (a refused CSRF check, an unknown state). */
export function messagePage(config: PageChrome, title: string, text: string): VNode {
  return Layout({
    chrome: config,
    title,
    children: Card({
      title,
      children: [
        Notice({ kind: 'error', text }),
        Links({ links: [{ href: `${config.uiPrefix}/login`, label: 'Sign in' }] }),
      ],
    }),
  });
}
