/**
 * The account page (`{ui_prefix}/me`): who you are, your name, your password, your email address, your sessions
 * ("this device", sign one out, sign out everywhere), deleting the account, signing out. One card per task, each
 * its own POST form with the session's CSRF token (R57); a refused form comes back with its messages next to its
 * fields, the rest of the page as it was. Every value shown — name, email, a session's user agent — is escaped by
 * the renderer (R60).
 */
import type { PublicUser, ReauthenticationInfo, SessionInfo } from '@regstack/shared';
import type { VNode } from 'preact';
import { Button, Card, CurrentPassword, Field, Form, Layout, Links, Notice } from './components.ts';
import { el } from './html.ts';
import { NewPasswordField, type PublicPageConfig } from './views-public.ts';

export type AccountForm = 'profile' | 'password' | 'email' | 'sessions' | 'delete';

export interface AccountPageState {
  notice?: string | undefined;
  /** The form whose submission was refused, with its messages. */
  failed?: { form: AccountForm; fieldErrors: Record<string, string[]>; formError?: string | undefined };
  /** The two-factor card (views-mfa.ts), shown before "Delete account". */
  twoFactor?: VNode | undefined;
  /** How the sensitive forms re-authenticate: a current-password field, or a recent sign-in (no password). */
  reauth?: ReauthenticationInfo | undefined;
  /** The "Connected accounts" card (views-oauth.ts), with `enable_oauth`: after the sessions. */
  connected?: VNode | undefined;
}

export interface AccountPageConfig extends PublicPageConfig {
  enableAccountDeletion: boolean;
  /** The admin page's address (`enable_admin_router`), linked for superusers. */
  adminHref?: string | undefined;
}

const dateTime = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });
const when = (date: Date) => `${dateTime.format(date)} UTC`;

export function accountPage(
  config: AccountPageConfig,
  csrf: string,
  user: PublicUser,
  sessions: SessionInfo[],
  state: AccountPageState,
): VNode {
  const ui = config.uiPrefix;
  const failed = (form: AccountForm) => (state.failed?.form === form ? state.failed : undefined);
  const errorsOf = (form: AccountForm, field: string) => failed(form)?.fieldErrors[field];
  const formError = (form: AccountForm) => {
    const text = failed(form)?.formError;
    return text ? Notice({ kind: 'error', text }) : null;
  };
  const ordered = [...sessions].sort((a, b) => Number(b.current) - Number(a.current));
  // An account without a password (made by a provider sign-in) sets its first one here.
  const noPassword = state.reauth?.method === 'recent_sign_in';

  return Layout({
    chrome: config,
    title: 'Your account',
    wide: true,
    children: [
      Card({
        title: 'Your account',
        children: [
          state.notice ? Notice({ kind: 'success', text: state.notice }) : null,
          el(
            'dl',
            { class: 'rs-facts' },
            el('dt', null, 'Email address'),
            el('dd', null, user.email),
            el('dt', null, 'Name'),
            el('dd', null, user.fullName ?? 'Not set'),
          ),
          config.adminHref && user.isSuperuser
            ? Links({ links: [{ href: config.adminHref, label: 'Administration' }] })
            : null,
          Form({
            action: `${ui}/logout`,
            csrf,
            children: Button({ label: 'Sign out', variant: 'secondary' }),
          }),
        ],
      }),
      Card({
        id: 'profile',
        heading: 'h2',
        title: 'Profile',
        children: [
          formError('profile'),
          Form({
            action: `${ui}/me/profile`,
            csrf,
            children: [
              Field({
                id: 'profile-name',
                name: 'fullName',
                label: 'Full name',
                autocomplete: 'name',
                value: user.fullName ?? '',
                errors: errorsOf('profile', 'fullName'),
              }),
              Button({ label: 'Save profile' }),
            ],
          }),
        ],
      }),
      Card({
        id: 'password',
        heading: 'h2',
        title: 'Password',
        lead: noPassword
          ? 'You sign in with a provider. A password lets you sign in without it; setting one signs out every other session.'
          : 'Changing it signs out every other session.',
        children: [
          formError('password'),
          Form({
            action: `${ui}/me/password`,
            csrf,
            children: [
              // A hidden username lets a password manager file the new password under the right account.
              el('input', { type: 'hidden', name: 'username', autocomplete: 'username', value: user.email }),
              CurrentPassword({
                id: 'password-current',
                errors: errorsOf('password', 'currentPassword'),
                reauth: state.reauth,
              }),
              NewPasswordField(config, {
                id: 'password-new',
                name: 'newPassword',
                label: 'New password',
                errors: errorsOf('password', 'newPassword'),
              }),
              Button({ label: noPassword ? 'Set password' : 'Change password' }),
            ],
          }),
        ],
      }),
      Card({
        id: 'email',
        heading: 'h2',
        title: 'Email address',
        lead: 'We send a link to the new address; your email changes once you follow it.',
        children: [
          formError('email'),
          Form({
            action: `${ui}/me/email`,
            csrf,
            children: [
              Field({
                id: 'email-new',
                name: 'newEmail',
                label: 'New email address',
                type: 'email',
                autocomplete: 'email',
                required: true,
                errors: errorsOf('email', 'newEmail'),
              }),
              CurrentPassword({
                id: 'email-password',
                errors: errorsOf('email', 'currentPassword'),
                reauth: state.reauth,
              }),
              Button({ label: 'Change email' }),
            ],
          }),
        ],
      }),
      Card({
        id: 'sessions',
        heading: 'h2',
        title: 'Sessions',
        lead: 'Where your account is signed in.',
        children: [
          formError('sessions'),
          el(
            'ul',
            { class: 'rs-sessions' },
            ...ordered.map((s) =>
              el(
                'li',
                { class: 'rs-session' },
                el(
                  'div',
                  { class: 'rs-session-what' },
                  el('span', null, s.userAgent ?? 'Unknown browser'),
                  s.current ? el('span', { class: 'rs-badge' }, 'This device') : null,
                  el(
                    'span',
                    { class: 'rs-session-when' },
                    `Signed in ${when(s.createdAt)} · last seen ${when(s.lastSeenAt)}${s.ip ? ` · ${s.ip}` : ''}`,
                  ),
                ),
                s.current
                  ? null
                  : Form({
                      action: `${ui}/me/sessions/revoke`,
                      csrf,
                      inline: true,
                      label: `Sign out the session signed in ${when(s.createdAt)}`,
                      children: [
                        el('input', { type: 'hidden', name: 'id', value: s.id }),
                        Button({ label: 'Sign out', variant: 'secondary', small: true }),
                      ],
                    }),
              ),
            ),
          ),
          Form({
            action: `${ui}/me/sessions/revoke-all`,
            csrf,
            children: Button({ label: 'Sign out everywhere', variant: 'secondary' }),
          }),
        ],
      }),
      state.connected ?? null,
      state.twoFactor ?? null,
      config.enableAccountDeletion
        ? Card({
            id: 'delete',
            heading: 'h2',
            title: 'Delete account',
            lead: 'This removes your account and everything that belongs to it. It cannot be undone.',
            children: [
              formError('delete'),
              Form({
                action: `${ui}/me/delete`,
                csrf,
                children: [
                  CurrentPassword({
                    id: 'delete-password',
                    errors: errorsOf('delete', 'currentPassword'),
                    reauth: state.reauth,
                  }),
                  Button({ label: 'Delete my account', variant: 'danger' }),
                ],
              }),
            ],
          })
        : null,
    ],
  });
}
