/**
 * The administration page (`{ui_prefix}/admin`, superusers only, `enable_admin_router`): a search-and-filter form
 * (a plain GET form, so a list view is an address that can be bookmarked), the user table, next/previous links
 * carrying the list's cursor, and per-user POST forms — disable or enable, resend the verification mail,
 * impersonate with a reason. Every value shown (emails, names, the search text) is escaped by the renderer (R60);
 * every form carries the session's CSRF token (R57). No script: "impersonate" opens with `<details>`.
 */
import type { PublicUser } from '@regstack/shared';
import type { VNode } from 'preact';
import { Button, Card, Field, Form, Layout, Links, Notice, type PageChrome } from './components.ts';
import { type Child, el } from './html.ts';

/** A yes/no filter: `''` is "any". */
export type Tri = '' | 'yes' | 'no';

/** The list view as the filter form shows it (raw query values; the procedure validates them). */
export interface AdminFilterValues {
  q: string;
  active: Tri;
  verified: Tri;
  superuser: Tri;
  mfa: Tri;
  sort: string;
  dir: string;
}

export interface AdminPageModel {
  csrf: string;
  /** The signed-in administrator. */
  adminId: string;
  filters: AdminFilterValues;
  /** Null when the list could not be read (its error is in `error`). */
  users: PublicUser[] | null;
  /** The list view's own address (query string), posted back by every form so the redirect returns here. */
  returnTo: string;
  nextHref: string | null;
  previousHref: string | null;
  firstHref: string | null;
  notice?: string | undefined;
  /** A refusal of the list itself (a changed cursor, a search too long …), with the field it belongs to. */
  error?: { text: string; field?: 'q' | undefined } | undefined;
  /** A refused action on one row. */
  rowError?: { userId: string; text: string; field?: 'reason' | undefined } | undefined;
  /** How long an impersonation lasts (`impersonation_ttl_seconds`), said next to its reason field. */
  impersonationTtlMinutes: number;
}

const dateTime = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });
const when = (date: Date | null) => (date ? `${dateTime.format(date)} UTC` : 'Never');

function Select(props: {
  id: string;
  name: string;
  label: string;
  value: string;
  options: readonly (readonly [string, string])[];
}): VNode {
  return el(
    'div',
    { class: 'rs-field' },
    el('label', { for: props.id }, props.label),
    el(
      'select',
      { id: props.id, name: props.name },
      ...props.options.map(([value, label]) => el('option', { value, selected: value === props.value }, label)),
    ),
  );
}

const TRI_OPTIONS = [
  ['', 'Any'],
  ['yes', 'Yes'],
  ['no', 'No'],
] as const;

function filterForm(ui: string, model: AdminPageModel): VNode {
  const f = model.filters;
  const searchError = model.error?.field === 'q' ? [model.error.text] : undefined;
  return el(
    'form',
    { method: 'get', action: `${ui}/admin`, class: 'rs-filters', role: 'search', 'aria-label': 'Find users' },
    el(
      'div',
      { class: 'rs-field-search rs-field' },
      Field({
        id: 'admin-search',
        name: 'q',
        label: 'Search',
        value: f.q,
        maxLength: 254,
        hint: 'The start of an email address, or any part of a name.',
        errors: searchError,
      }),
    ),
    Select({ id: 'admin-active', name: 'active', label: 'Active', value: f.active, options: TRI_OPTIONS }),
    Select({ id: 'admin-verified', name: 'verified', label: 'Verified', value: f.verified, options: TRI_OPTIONS }),
    Select({ id: 'admin-superuser', name: 'superuser', label: 'Admin', value: f.superuser, options: TRI_OPTIONS }),
    Select({ id: 'admin-mfa', name: 'mfa', label: 'Two-factor', value: f.mfa, options: TRI_OPTIONS }),
    Select({
      id: 'admin-sort',
      name: 'sort',
      label: 'Sort by',
      value: f.sort,
      options: [
        ['createdAt', 'Created'],
        ['lastLoginAt', 'Last sign-in'],
        ['email', 'Email address'],
      ],
    }),
    Select({
      id: 'admin-dir',
      name: 'dir',
      label: 'Order',
      value: f.dir,
      options: [
        ['desc', 'Descending'],
        ['asc', 'Ascending'],
      ],
    }),
    el('button', { type: 'submit', class: 'rs-button' }, 'Apply'),
  );
}

function badges(user: PublicUser): Child[] {
  const badge = (text: string, off = false) => el('span', { class: off ? 'rs-badge rs-badge-off' : 'rs-badge' }, text);
  return [
    user.isActive ? badge('Active') : badge('Disabled', true),
    user.isVerified ? badge('Verified') : badge('Unverified', true),
    user.isSuperuser ? badge('Admin') : null,
    user.isMfaEnabled ? badge('Two-factor') : null,
  ];
}

function rowActions(ui: string, model: AdminPageModel, user: PublicUser): Child[] {
  const hidden = (name: string, value: string) => el('input', { type: 'hidden', name, value });
  const rowError = model.rowError?.userId === user.id ? model.rowError : undefined;
  const who = user.email;
  const actions: Child[] = [];
  if (rowError && rowError.field === undefined) actions.push(Notice({ kind: 'error', text: rowError.text }));
  actions.push(
    Form({
      action: `${ui}/admin/users/active`,
      csrf: model.csrf,
      inline: true,
      label: `${user.isActive ? 'Disable' : 'Enable'} ${who}`,
      children: [
        hidden('id', user.id),
        hidden('active', user.isActive ? 'no' : 'yes'),
        hidden('return', model.returnTo),
        Button({
          label: user.isActive ? 'Disable' : 'Enable',
          variant: user.isActive ? 'secondary' : 'primary',
          small: true,
        }),
      ],
    }),
  );
  if (!user.isVerified) {
    actions.push(
      Form({
        action: `${ui}/admin/users/resend-verification`,
        csrf: model.csrf,
        inline: true,
        label: `Resend the verification mail to ${who}`,
        children: [
          hidden('id', user.id),
          hidden('return', model.returnTo),
          Button({ label: 'Resend verification', variant: 'secondary', small: true }),
        ],
      }),
    );
  }
  // The procedure refuses superusers, disabled accounts and oneself (IMPERSONATION_NOT_ALLOWED): not offered here.
  if (user.isActive && !user.isSuperuser && user.id !== model.adminId) {
    const reasonErrors = rowError?.field === 'reason' ? [rowError.text] : undefined;
    actions.push(
      el(
        'details',
        { open: reasonErrors !== undefined },
        el('summary', null, 'Impersonate'),
        Form({
          action: `${ui}/admin/users/impersonate`,
          csrf: model.csrf,
          label: `Impersonate ${who}`,
          children: [
            hidden('id', user.id),
            hidden('return', model.returnTo),
            Field({
              id: `impersonate-reason-${user.id}`,
              name: 'reason',
              label: 'Reason (kept in the audit log)',
              required: true,
              minLength: 3,
              maxLength: 500,
              hint: `You act as this user for up to ${model.impersonationTtlMinutes} minutes.`,
              errors: reasonErrors,
            }),
            Button({ label: `Impersonate ${who}`, variant: 'secondary', small: true }),
          ],
        }),
      ),
    );
  }
  return actions;
}

function userTable(ui: string, model: AdminPageModel, users: PublicUser[]): VNode {
  if (users.length === 0) return el('p', { class: 'rs-muted' }, 'No user matches.');
  return el(
    'div',
    { class: 'rs-table-wrap', role: 'region', 'aria-labelledby': 'admin-users-title', tabIndex: 0 },
    el(
      'table',
      { class: 'rs-table' },
      el(
        'thead',
        null,
        el(
          'tr',
          null,
          el('th', { scope: 'col' }, 'User'),
          el('th', { scope: 'col' }, 'Status'),
          el('th', { scope: 'col' }, 'Created'),
          el('th', { scope: 'col' }, 'Last sign-in'),
          el('th', { scope: 'col' }, 'Actions'),
        ),
      ),
      el(
        'tbody',
        null,
        ...users.map((user) =>
          el(
            'tr',
            null,
            el(
              'td',
              { class: 'rs-user' },
              el('strong', null, user.email),
              el('br', null),
              el('span', { class: 'rs-muted' }, user.fullName ?? 'No name'),
            ),
            el('td', null, ...badges(user)),
            el('td', null, when(user.createdAt)),
            el('td', null, when(user.lastLoginAt)),
            el('td', null, el('div', { class: 'rs-actions' }, ...rowActions(ui, model, user))),
          ),
        ),
      ),
    ),
  );
}

function pager(model: AdminPageModel): VNode | null {
  const links = [
    ...(model.firstHref ? [{ href: model.firstHref, label: 'First page' }] : []),
    ...(model.previousHref ? [{ href: model.previousHref, label: 'Previous page' }] : []),
    ...(model.nextHref ? [{ href: model.nextHref, label: 'Next page' }] : []),
  ];
  if (links.length === 0) return null;
  return el(
    'nav',
    { 'aria-label': 'Pages of the user list', class: 'rs-pager' },
    ...links.map((l) => el('a', { href: l.href }, l.label)),
  );
}

export function adminPage(chrome: PageChrome, model: AdminPageModel): VNode {
  const ui = chrome.uiPrefix;
  return Layout({
    chrome,
    title: 'Administration',
    wide: 'full',
    children: [
      Card({
        title: 'Administration',
        lead: 'Find users, disable or enable them, resend a verification mail, or see the app as a user sees it.',
        children: [
          model.notice ? Notice({ kind: 'success', text: model.notice }) : null,
          model.error && model.error.field === undefined ? Notice({ kind: 'error', text: model.error.text }) : null,
          Links({ links: [{ href: `${ui}/me`, label: 'Your account' }] }),
        ],
      }),
      Card({
        id: 'admin-users',
        heading: 'h2',
        title: 'Users',
        children: [filterForm(ui, model), model.users ? userTable(ui, model, model.users) : null, pager(model)],
      }),
    ],
  });
}

/** What a signed-in non-administrator (or an impersonation session) sees at the admin address: 403. */
export function adminRefusedPage(chrome: PageChrome, text: string): VNode {
  return Layout({
    chrome,
    title: 'Administration',
    children: Card({
      title: 'Administration',
      children: [
        Notice({ kind: 'error', text }),
        Links({ links: [{ href: `${chrome.uiPrefix}/me`, label: 'Your account' }] }),
      ],
    }),
  });
}
