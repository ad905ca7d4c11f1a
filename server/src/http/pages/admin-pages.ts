/**
 * The admin page and impersonation on the pages (`enable_admin_router`; account-pages.ts dispatches here). Like
 * every page, each action runs the tRPC procedure the API exposes through the server-side caller —
 * `auth.admin.users.list / update / resendVerification / impersonate`, `auth.admin.stopImpersonating` — so the
 * procedure decides who may (an active superuser re-read on every call, R46) and checks every input: a page that
 * is not an admin's gets FORBIDDEN from the list and shows 403; a changed cursor is the procedure's
 * VALIDATION_FAILED (the cursor is MAC-bound to its query). POSTs pass the origin and CSRF checks first (R57).
 *
 * Paging is keyset by the procedure's cursor, carried in the address: `cursor` is this page's, `prev` (repeated)
 * the earlier pages' (at most TRAIL_MAX, then `cut` marks that older ones were dropped), so "previous" is a plain
 * link too. Every value from the address goes to the procedure as data, never into a pattern or markup.
 *
 * Impersonation keeps the administrator's own page session: starting it moves the admin's access token into a
 * second HttpOnly cookie (`cookie_name` + `_admin`, same attributes as the session cookie, R58) and puts the
 * impersonation token in the session cookie; stopping — or signing out, or the impersonation session ending by
 * expiry or revocation — ends that session and moves the admin's token back. The admin's token is never shown or
 * sent anywhere but back to this server in that cookie.
 */
import type { AccountMe, AdminUserSort } from '@regstack/shared';
import { parseCookie, stringifySetCookie } from 'cookie';
import type { VNode } from 'preact';
import type { RegstackConfig } from '../../config/index.ts';
import { regstackRouter } from '../../routers/auth.ts';
import type { PageCsrf } from '../../security/page-csrf.ts';
import type { describeError } from '../../trpc/error-formatter.ts';
import { t } from '../../trpc/init.ts';
import type { ImpersonationBanner, PageChrome } from './components.ts';
import { messageFor, sentence } from './messages.ts';
import type { PageCookies } from './page-session.ts';
import { type AdminFilterValues, type AdminPageModel, adminPage, adminRefusedPage, type Tri } from './views-admin.ts';

type Described = ReturnType<typeof describeError>;
type Outcome<T> = { ok: true; value: T } | { ok: false; error: Described; status: number };
const callerFactory = t.createCallerFactory(regstackRouter);
/** The server-side caller of the regstack router, as account-pages.ts makes it for a browser. */
type PageCaller = ReturnType<typeof callerFactory>;

/** What account-pages.ts lends the admin pages: its caller, its responses, its cookies and CSRF tokens. */
export interface AdminPagesKit {
  config: RegstackConfig;
  chrome: PageChrome;
  cookies: PageCookies;
  csrf: PageCsrf;
  callerFor(request: Request, remote: string | null, session?: string): PageCaller;
  attempt<T>(work: () => Promise<T>): Promise<Outcome<T>>;
  respond(status: number, body: VNode | null, setCookies?: string[], head?: boolean): Response;
  redirect(location: string, setCookies?: string[]): Response;
}

export interface AdminPages {
  /** Handles GET `/admin`. */
  get(request: Request, url: URL, remote: string | null, session: string | undefined, head: boolean): Promise<Response>;
  /** Handles a POST to one of ADMIN_POSTS (origin and CSRF already checked). */
  post(request: Request, sub: string, form: URLSearchParams, remote: string | null, session: string): Promise<Response>;
  /**
   * When this browser keeps an administrator's session aside (an impersonation), the response that ends the
   * impersonation and restores it; else null. `caller` (the impersonation session's) ends that session first.
   */
  restoreAdmin(request: Request, caller?: PageCaller): Promise<Response | null>;
  /** `Set-Cookie` that drops a kept administrator session (an ordinary sign-out leaves none behind). */
  readonly clearKept: string;
  /** The banner of an impersonation session's signed-in pages, or undefined for an ordinary session. */
  bannerFor(me: AccountMe, session: string): ImpersonationBanner | undefined;
}

/** The admin pages' POST paths (under `ui_prefix`). */
export const ADMIN_POSTS: ReadonlySet<string> = new Set([
  '/admin/users/active',
  '/admin/users/resend-verification',
  '/admin/users/impersonate',
  '/admin/stop-impersonating',
]);

/** The list view's own query parameters (anything else in an address or a posted `return` is dropped). */
const VIEW_PARAMS = ['q', 'active', 'verified', 'superuser', 'mfa', 'sort', 'dir', 'limit'] as const;
const FILTERS = [
  ['active', 'isActive'],
  ['verified', 'isVerified'],
  ['superuser', 'isSuperuser'],
  ['mfa', 'isMfaEnabled'],
] as const;
/** Users per page unless the address says `limit` (the procedure takes 1–200). */
const PAGE_SIZE = 25;
/** Earlier pages' cursors kept in the address for "previous" (a URL stays far below servers' limits). */
const TRAIL_MAX = 20;
const TRAIL_CUT = 'cut';

const NOTICES: Record<string, string> = {
  disabled: 'The user is disabled and every session of theirs has ended.',
  enabled: 'The user is enabled.',
  verification_sent: 'A new verification mail is on its way.',
  impersonation_ended: 'You stopped impersonating. You are back in your own session.',
};

/** One list view: its filters and sort (as given), the cursor of this page and those of the pages before. */
interface ListView {
  params: URLSearchParams;
  cursor: string | undefined;
  trail: string[];
}

function readView(source: URLSearchParams): ListView {
  const params = new URLSearchParams();
  for (const key of VIEW_PARAMS) {
    const value = source.get(key);
    if (value !== null && value !== '') params.set(key, value);
  }
  const cursor = source.get('cursor') || undefined;
  const trail = source.getAll('prev').filter((c, i) => c !== '' && (c !== TRAIL_CUT || i === 0));
  return { params, cursor, trail: cursor === undefined ? [] : trail };
}

function viewQuery(view: ListView): string {
  const q = new URLSearchParams(view.params);
  if (view.cursor !== undefined) q.set('cursor', view.cursor);
  for (const c of view.trail) q.append('prev', c);
  return q.toString();
}

const tri = (value: string | null): Tri => (value === 'yes' || value === 'no' ? value : '');

export function createAdminPages(kit: AdminPagesKit): AdminPages {
  const { config, chrome, cookies, csrf } = kit;
  const ui = chrome.uiPrefix;
  const adminCookieName = `${cookies.sessionName}_admin`;
  const ttlMinutes = Math.round(Math.min(config.impersonationTtlSeconds, config.jwtTtlSeconds) / 60);
  const setAdminCookie = (value: string, maxAge: number) =>
    stringifySetCookie({
      name: adminCookieName,
      value,
      httpOnly: true,
      secure: cookies.secure,
      path: '/',
      sameSite: config.cookieSameSite,
      maxAge: Math.max(0, Math.floor(maxAge)),
    });

  const href = (view: ListView, extra?: Record<string, string>) => {
    const q = new URLSearchParams(viewQuery(view));
    for (const [k, v] of Object.entries(extra ?? {})) q.set(k, v);
    const text = q.toString();
    return text ? `${ui}/admin?${text}` : `${ui}/admin`;
  };

  /** The admin cookie: `<expiry in epoch seconds>~<the admin's access token>`. */
  function readAdminCookie(request: Request): { token: string; expiresAt: number } | null {
    const header = request.headers.get('cookie');
    if (!header) return null;
    const cookiesIn = parseCookie(header);
    const raw = Object.hasOwn(cookiesIn, adminCookieName) ? cookiesIn[adminCookieName] : undefined;
    if (!raw || raw.length > 4096) return null;
    const sep = raw.indexOf('~');
    const expiresAt = Number(raw.slice(0, sep));
    const token = raw.slice(sep + 1);
    if (sep < 1 || !Number.isSafeInteger(expiresAt) || token === '') return null;
    return { token, expiresAt };
  }

  function toLogin(): Response {
    return kit.redirect(`${ui}/login?next=${encodeURIComponent(`${ui}/admin`)}`, [cookies.clear(cookies.sessionName)]);
  }

  function refusedPage(status: number, text: string, banner?: ImpersonationBanner, head = false): Response {
    return kit.respond(status, adminRefusedPage({ ...chrome, impersonation: banner }, text), [], head);
  }

  async function render(
    request: Request,
    remote: string | null,
    session: string,
    view: ListView,
    state: Pick<AdminPageModel, 'notice' | 'rowError'>,
    httpStatus: number,
    head = false,
  ): Promise<Response> {
    const caller = kit.callerFor(request, remote, session);
    const me = await kit.attempt(() => caller.account.me());
    if (!me.ok) {
      if (me.error.regstackCode === 'UNAUTHENTICATED') return (await restoreAdmin(request)) ?? toLogin();
      return refusedPage(me.status, messageFor(me.error), undefined, head);
    }
    const banner = bannerFor(me.value, session);
    const p = view.params;
    const filters: Record<string, boolean> = {};
    for (const [param, key] of FILTERS) {
      const value = tri(p.get(param));
      if (value) filters[key] = value === 'yes';
    }
    const search = p.get('q')?.trim();
    const limit = p.get('limit');
    const listed = await kit.attempt(() =>
      caller.admin.users.list({
        ...(search && { search }),
        ...(Object.keys(filters).length > 0 && { filters }),
        // As given: the procedure's schema refuses anything but its sorts and directions (VALIDATION_FAILED).
        ...(p.has('sort') && { sort: p.get('sort') as AdminUserSort }),
        ...(p.has('dir') && { direction: p.get('dir') as 'asc' | 'desc' }),
        limit: limit === null ? PAGE_SIZE : Number(limit),
        ...(view.cursor !== undefined && { cursor: view.cursor }),
      }),
    );
    if (!listed.ok) {
      const code = listed.error.regstackCode;
      if (code === 'UNAUTHENTICATED') return (await restoreAdmin(request)) ?? toLogin();
      if (code === 'FORBIDDEN' || code === 'FEATURE_DISABLED') {
        const text = banner
          ? 'You are acting as another user. Stop impersonating to return to the administration page.'
          : 'This page is for administrators only.';
        return refusedPage(listed.status, text, banner, head);
      }
    }
    const filterValues: AdminFilterValues = {
      q: p.get('q') ?? '',
      active: tri(p.get('active')),
      verified: tri(p.get('verified')),
      superuser: tri(p.get('superuser')),
      mfa: tri(p.get('mfa')),
      sort: p.get('sort') ?? 'createdAt',
      dir: p.get('dir') ?? 'desc',
    };
    const atStart: ListView = { params: view.params, cursor: undefined, trail: [] };
    const model: AdminPageModel = {
      csrf: csrf.tokenFor({ kind: 'session', value: session }),
      adminId: me.value.id,
      filters: filterValues,
      users: listed.ok ? listed.value.items : null,
      returnTo: viewQuery(view),
      firstHref: view.cursor !== undefined ? href(atStart) : null,
      previousHref: null,
      nextHref: null,
      impersonationTtlMinutes: ttlMinutes,
      ...state,
    };
    if (view.cursor !== undefined) {
      const last = view.trail.at(-1);
      if (last === undefined) model.previousHref = href(atStart);
      else if (last !== TRAIL_CUT) model.previousHref = href({ ...view, cursor: last, trail: view.trail.slice(0, -1) });
    }
    if (listed.ok && listed.value.nextCursor) {
      let trail = view.cursor === undefined ? [] : [...view.trail, view.cursor];
      if (trail.length > TRAIL_MAX) trail = [TRAIL_CUT, ...trail.slice(-TRAIL_MAX + 1)];
      model.nextHref = href({ params: view.params, cursor: listed.value.nextCursor, trail });
    }
    if (!listed.ok) model.error = listError(listed.error);
    const body = adminPage({ ...chrome, impersonation: banner }, model);
    return kit.respond(listed.ok ? httpStatus : listed.status, body, [], head);
  }

  /** A refused list, worded for the page: the search's own reason next to it; a changed cursor said plainly. */
  function listError(error: Described): NonNullable<AdminPageModel['error']> {
    const fields = error.fieldErrors ?? {};
    if (error.regstackCode === 'VALIDATION_FAILED') {
      if (fields.cursor) {
        return { text: 'This page address is out of date or was changed. Start again from the first page.' };
      }
      if (fields.search) return { text: (fields.search ?? []).map(sentence).join(' '), field: 'q' };
      return { text: 'These filters are not valid. Choose them again in the form.' };
    }
    return { text: messageFor(error) };
  }

  function bannerFor(me: AccountMe, session: string): ImpersonationBanner | undefined {
    if (!me.impersonatedBy) return undefined;
    return {
      adminEmail: me.impersonatedBy.email,
      userEmail: me.email,
      csrf: csrf.tokenFor({ kind: 'session', value: session }),
      stopAction: `${ui}/admin/stop-impersonating`,
    };
  }

  async function restoreAdmin(request: Request, caller?: PageCaller): Promise<Response | null> {
    const kept = readAdminCookie(request);
    if (!kept) return null;
    if (caller) {
      // NOT_IMPERSONATING: this is an ordinary session and the admin cookie a stale one; it is dropped below and
      // the caller carries on (signs out). Anything else (already ended, expired) leaves the admin to restore.
      const stopped = await kit.attempt(() => caller.admin.stopImpersonating());
      if (!stopped.ok && stopped.error.regstackCode === 'NOT_IMPERSONATING') return null;
    }
    const remaining = kept.expiresAt - Math.floor(Date.now() / 1000);
    if (remaining <= 0) return null;
    return kit.redirect(`${ui}/admin?status=impersonation_ended`, [
      cookies.setSession(kept.token, remaining),
      setAdminCookie('', 0),
    ]);
  }

  return {
    bannerFor,
    restoreAdmin,
    clearKept: setAdminCookie('', 0),

    async get(request, url, remote, session, head) {
      if (!session) return (await restoreAdmin(request)) ?? toLogin();
      const status = url.searchParams.get('status');
      const notice = status && Object.hasOwn(NOTICES, status) ? NOTICES[status] : undefined;
      return render(request, remote, session, readView(url.searchParams), { notice }, 200, head);
    },

    async post(request, sub, form, remote, session) {
      const caller = kit.callerFor(request, remote, session);
      const view = readView(new URLSearchParams(form.get('return') ?? ''));
      const id = form.get('id') ?? '';
      const back = (key: string, setCookies: string[] = []) => kit.redirect(href(view, { status: key }), setCookies);
      const failed = (result: { error: Described; status: number }, field?: 'reason') => {
        if (result.error.regstackCode === 'UNAUTHENTICATED') return restoreAdmin(request).then((r) => r ?? toLogin());
        const fieldTexts = field ? result.error.fieldErrors?.[field] : undefined;
        const text = fieldTexts?.length ? fieldTexts.map(sentence).join(' ') : messageFor(result.error);
        const rowError = fieldTexts?.length ? { userId: id, text, field } : { userId: id, text };
        return render(request, remote, session, view, { rowError }, result.status);
      };
      switch (sub) {
        case '/admin/users/active': {
          const isActive = form.get('active') === 'yes';
          const result = await kit.attempt(() => caller.admin.users.update({ id, isActive }));
          return result.ok ? back(isActive ? 'enabled' : 'disabled') : failed(result);
        }
        case '/admin/users/resend-verification': {
          const result = await kit.attempt(() => caller.admin.users.resendVerification({ id }));
          return result.ok ? back('verification_sent') : failed(result);
        }
        case '/admin/users/impersonate': {
          // The admin's own session must outlive the impersonation: its expiry sets the kept cookie's lifetime.
          const own = await kit.attempt(() => caller.account.sessions());
          const result = await kit.attempt(() =>
            caller.admin.users.impersonate({ id, reason: form.get('reason') ?? '' }),
          );
          if (!result.ok) return failed(result, 'reason');
          const current = own.ok ? own.value.find((s) => s.current) : undefined;
          const expiresAt = Math.floor(
            (current?.expiresAt.getTime() ?? Date.now() + config.jwtTtlSeconds * 1000) / 1000,
          );
          return kit.redirect(`${ui}/me`, [
            cookies.setSession(result.value.accessToken, result.value.expiresIn),
            setAdminCookie(`${expiresAt}~${session}`, expiresAt - Math.floor(Date.now() / 1000)),
          ]);
        }
        default: {
          // '/admin/stop-impersonating'
          const restored = await restoreAdmin(request, caller);
          if (restored) return restored;
          // No admin session kept in this browser (or it has expired): the impersonation still ends here.
          await kit.attempt(() => caller.admin.stopImpersonating());
          return kit.redirect(`${ui}/login?status=signed_out`, [
            cookies.clear(cookies.sessionName),
            setAdminCookie('', 0),
          ]);
        }
      }
    },
  };
}
