/**
 * Issue 19 item 1/2 (the admin page and impersonation on the pages) over real HTTP on every backend. The page runs
 * `auth.admin.*` through the server-side caller, so the procedures decide: a signed-in non-admin gets 403 and no
 * data, a form post without this session's CSRF token or from another origin changes nothing (R57), the search
 * text is data (`_`, `%`, `.*` match only themselves; markup in it is escaped, R60), paging follows the cursor in
 * the address and a changed cursor is refused (its MAC binds it to the query). Impersonation keeps the admin's
 * page session aside and gives it back on stop, sign-out or the impersonation's end; every page of the
 * impersonation session names the administrator.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';
import { csrfOf, pageAgent } from './page-agent.ts';

const PASSWORD = 'correct horse battery staple';
const SESSION = '__Host-regstack_session';
const ADMIN_COOKIE = '__Host-regstack_session_admin';

/** The emails in the admin page's user table, in order. */
const emailsIn = (html: string) =>
  [...html.matchAll(/<td class="rs-user"><strong>([^<]+)<\/strong>/g)].map((m) => m[1]);
/** The link of the pager with `label`, HTML-decoded, or null. */
const pagerLink = (html: string, label: string) => {
  const m = new RegExp(`<a href="([^"]+)">${label}</a>`).exec(html);
  return m?.[1] ? m[1].replaceAll('&amp;', '&') : null;
};

describeEachBackend('the admin page over HTTP (issue 19)', (ctx) => {
  let t: TestRegstack;
  let server: { url: string; close(): Promise<void> };
  const ADMIN = 'boss@admin-pages.example';
  beforeAll(async () => {
    t = await startRegstack(ctx.url, {
      enableUiRouter: true,
      enableAdminRouter: true,
      loginRateLimit: '1000/minute',
      registerRateLimit: '1000/minute',
    });
    await t.regstack.bootstrapAdmin({ email: ADMIN, password: PASSWORD, fullName: 'The Boss' });
    server = await t.regstack.listen({ port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await t?.regstack.close();
  });

  async function signedIn(email: string) {
    const agent = pageAgent(server.url);
    const res = await agent.submit('/account/login', '/account/login', { email, password: PASSWORD });
    expect(res.location).toBe('/account/me');
    return agent;
  }
  const idOf = async (email: string) => {
    const login = await t.regstack.createCaller().login({ email, password: PASSWORD });
    if (login.status !== 'authenticated') throw new Error('expected a session');
    return login.user.id;
  };

  it('a non-admin gets 403 and no data, from the page and from its forms; signed out goes to sign-in; the admin link is for superusers', async () => {
    await createVerifiedUser(t, 'plain@admin-pages.example');
    await createVerifiedUser(t, 'target@admin-pages.example');
    const targetId = await idOf('target@admin-pages.example');
    const plain = await signedIn('plain@admin-pages.example');
    const me = await plain.get('/account/me');
    expect(me.html).not.toContain('/account/admin');
    const page = await plain.get('/account/admin');
    expect(page.status).toBe(403);
    expect(page.html).toContain('This page is for administrators only.');
    expect(page.html).not.toContain('target@admin-pages.example');
    const csrf = csrfOf(me.html);
    for (const [action, fields] of [
      ['/account/admin/users/active', { id: targetId, active: 'no' }],
      ['/account/admin/users/resend-verification', { id: targetId }],
      ['/account/admin/users/impersonate', { id: targetId, reason: 'curious' }],
    ] as const) {
      const res = await plain.post(action, { ...fields, csrf });
      expect(res.status, action).toBe(403);
      expect(res.html, action).not.toContain('target@admin-pages.example');
    }
    expect(plain.jar.has(ADMIN_COOKIE)).toBe(false);
    const target = await t.regstack.createCaller().login({ email: 'target@admin-pages.example', password: PASSWORD });
    expect(target.status).toBe('authenticated'); // still active
    const anonymous = await pageAgent(server.url).get('/account/admin');
    expect(anonymous.status).toBe(303);
    expect(anonymous.location).toBe('/account/login?next=%2Faccount%2Fadmin');
    const admin = await signedIn(ADMIN);
    expect((await admin.get('/account/me')).html).toContain('<a href="/account/admin">Administration</a>');
  });

  it("R57: the admin's forms refuse a post without the token, with another session's token or from another origin", async () => {
    await createVerifiedUser(t, 'csrf-target@admin-pages.example');
    const targetId = await idOf('csrf-target@admin-pages.example');
    const admin = await signedIn(ADMIN);
    const other = await signedIn(ADMIN);
    const token = csrfOf((await admin.get('/account/admin')).html, '/account/admin/users/active');
    const fields = { id: targetId, active: 'no' };
    const attempts = [
      admin.post('/account/admin/users/active', fields),
      admin.post('/account/admin/users/active', { ...fields, csrf: csrfOf((await other.get('/account/admin')).html) }),
      admin.post('/account/admin/users/active', { ...fields, csrf: token }, { origin: 'https://evil.example' }),
      admin.post('/account/admin/users/active', { ...fields, csrf: token }, { 'sec-fetch-site': 'cross-site' }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(403);
      expect(res.html).toContain('came from another site');
    }
    expect(
      (await t.regstack.createCaller().login({ email: 'csrf-target@admin-pages.example', password: PASSWORD })).status,
    ).toBe('authenticated');
    // The same token from this origin works: disable, then enable again.
    const disabled = await admin.post('/account/admin/users/active', {
      ...fields,
      csrf: token,
      return: 'q=csrf-target',
    });
    expect(disabled.status).toBe(303);
    expect(disabled.location).toBe('/account/admin?q=csrf-target&status=disabled');
    const shown = await admin.get(disabled.location!);
    expect(shown.html).toContain('The user is disabled');
    expect(shown.html).toContain('Disabled</span>');
    await expect(
      t.regstack.createCaller().login({ email: 'csrf-target@admin-pages.example', password: PASSWORD }),
    ).rejects.toThrow();
    const enabled = await admin.post('/account/admin/users/active', { id: targetId, active: 'yes', csrf: token });
    expect(enabled.location).toBe('/account/admin?status=enabled');
    // The last active admin cannot disable themselves: the procedure's refusal shows on the row.
    const adminId = await idOf(ADMIN);
    const self = await admin.post('/account/admin/users/active', { id: adminId, active: 'no', csrf: token });
    expect(self.status).toBe(409);
    expect(self.html).toContain('You are the last active administrator');
  });

  it('search is data: _ % .* and markup are never patterns, and are shown escaped', async () => {
    const caller = t.regstack.createCaller();
    for (const [email, fullName] of [
      ['sd-under@admin-pages.example', 'Ann_Lee'],
      ['sd-plain@admin-pages.example', 'AnnXLee'],
      ['sd-pct@admin-pages.example', 'Ninety%Nine'],
    ] as const) {
      await createVerifiedUser(t, email);
      const login = await caller.login({ email, password: PASSWORD });
      if (login.status !== 'authenticated') throw new Error('expected a session');
      await t.regstack.createCaller({ accessToken: login.accessToken }).account.update({ fullName });
    }
    const admin = await signedIn(ADMIN);
    const search = async (q: string) => {
      const res = await admin.get(`/account/admin?q=${encodeURIComponent(q)}`);
      expect(res.status, q).toBe(200);
      return emailsIn(res.html);
    };
    // Name search matches word prefixes (docs/admin.md); `_` and `%` only separate words, never match a character.
    expect(await search('Ann_Lee')).toEqual(['sd-under@admin-pages.example']);
    expect(await search('Ann')).toEqual(
      expect.arrayContaining(['sd-under@admin-pages.example', 'sd-plain@admin-pages.example']),
    );
    expect(await search('%')).toEqual([]);
    expect(await search('Ninety%')).toEqual(['sd-pct@admin-pages.example']);
    expect(await search('.*')).toEqual([]);
    expect(await search('$where')).toEqual([]);
    const xss = await admin.get(`/account/admin?q=${encodeURIComponent('<script>alert(1)</script>')}`);
    expect(xss.html).not.toContain('<script>alert(1)');
    expect(xss.html).toContain('value="&lt;script>alert(1)&lt;/script>"');
    expect(xss.html).toContain('No user matches.');
    // A search longer than the procedure takes: its reason next to the field, 400, no list.
    const long = await admin.get(`/account/admin?q=${'a'.repeat(300)}`);
    expect(long.status).toBe(400);
    expect(long.html).toMatch(/id="admin-search-error" class="rs-error">[^<]+/);
    // Filters by flag: an unverified account (made so through the API) offers "Resend verification".
    const id = await idOf('sd-plain@admin-pages.example');
    await t.regstack
      .createCaller({
        accessToken: await t.regstack
          .createCaller()
          .login({ email: ADMIN, password: PASSWORD })
          .then((l) => (l.status === 'authenticated' ? l.accessToken : '')),
      })
      .admin.users.update({ id, isVerified: false });
    const unverified = await admin.get('/account/admin?verified=no');
    expect(emailsIn(unverified.html)).toEqual(['sd-plain@admin-pages.example']);
    const resent = await admin.post('/account/admin/users/resend-verification', {
      id,
      csrf: csrfOf(unverified.html, '/account/admin/users/resend-verification'),
      return: 'verified=no',
    });
    expect(resent.location).toBe('/account/admin?verified=no&status=verification_sent');
    await t.regstack.drainOutbox();
    expect(t.mailbox.latest('sd-plain@admin-pages.example')?.subject).toMatch(/Confirm your email/);
  });

  it('keyset pages by the cursor in the address: next, previous, first; a changed or foreign cursor is refused', async () => {
    for (const n of [1, 2, 3, 4, 5]) await createVerifiedUser(t, `pg-${n}@admin-pages.example`);
    const admin = await signedIn(ADMIN);
    const first = await admin.get('/account/admin?q=pg-&sort=email&dir=asc&limit=2');
    expect(emailsIn(first.html)).toEqual(['pg-1@admin-pages.example', 'pg-2@admin-pages.example']);
    expect(pagerLink(first.html, 'Previous page')).toBeNull();
    const secondHref = pagerLink(first.html, 'Next page')!;
    expect(secondHref).toMatch(/^\/account\/admin\?q=pg-&sort=email&dir=asc&limit=2&cursor=/);
    const second = await admin.get(secondHref);
    expect(emailsIn(second.html)).toEqual(['pg-3@admin-pages.example', 'pg-4@admin-pages.example']);
    const third = await admin.get(pagerLink(second.html, 'Next page')!);
    expect(emailsIn(third.html)).toEqual(['pg-5@admin-pages.example']);
    expect(pagerLink(third.html, 'Next page')).toBeNull();
    const back = await admin.get(pagerLink(third.html, 'Previous page')!);
    expect(emailsIn(back.html)).toEqual(['pg-3@admin-pages.example', 'pg-4@admin-pages.example']);
    const backAgain = await admin.get(pagerLink(back.html, 'Previous page')!);
    expect(emailsIn(backAgain.html)).toEqual(['pg-1@admin-pages.example', 'pg-2@admin-pages.example']);
    expect(emailsIn((await admin.get(pagerLink(third.html, 'First page')!)).html)).toEqual(emailsIn(first.html));

    const cursor = new URL(secondHref, server.url).searchParams.get('cursor')!;
    const flipped = `${cursor.slice(0, 5)}${cursor[5] === 'A' ? 'B' : 'A'}${cursor.slice(6)}`;
    for (const address of [
      `/account/admin?q=pg-&sort=email&dir=asc&limit=2&cursor=${encodeURIComponent(flipped)}`,
      // The cursor of another query (another search) is not a position in this one.
      `/account/admin?q=pg-1&sort=email&dir=asc&limit=2&cursor=${encodeURIComponent(cursor)}`,
      `/account/admin?q=pg-&sort=email&dir=desc&limit=2&cursor=${encodeURIComponent(cursor)}`,
    ]) {
      const res = await admin.get(address);
      expect(res.status, address).toBe(400);
      expect(res.html).toContain('This page address is out of date or was changed.');
      expect(emailsIn(res.html)).toEqual([]);
    }
    const badSort = await admin.get('/account/admin?sort=password');
    expect(badSort.status).toBe(400);
    expect(badSort.html).toContain('These filters are not valid.');
  });

  it('impersonation keeps the admin session aside; every page names the admin; stop, sign-out or its end gives it back', async () => {
    await createVerifiedUser(t, 'imp@admin-pages.example');
    const userId = await idOf('imp@admin-pages.example');
    const admin = await signedIn(ADMIN);
    const adminToken = admin.jar.get(SESSION)!;
    const list = await admin.get('/account/admin?q=imp%40');
    const csrf = csrfOf(list.html, '/account/admin/users/impersonate');
    const short = await admin.post('/account/admin/users/impersonate', { id: userId, reason: 'x', csrf });
    expect(short.status).toBe(400);
    expect(short.html).toMatch(new RegExp(`id="impersonate-reason-${userId}-error" class="rs-error">`));
    expect(admin.jar.get(SESSION)).toBe(adminToken);

    const started = await admin.post('/account/admin/users/impersonate', { id: userId, reason: 'ticket 42', csrf });
    expect(started.status).toBe(303);
    expect(started.location).toBe('/account/me');
    const impersonationToken = admin.jar.get(SESSION)!;
    expect(impersonationToken).not.toBe(adminToken);
    expect(admin.jar.get(ADMIN_COOKIE)).toMatch(/^\d+~/);
    const me = await admin.get('/account/me');
    expect(me.html).toContain(
      'You are signed in as <strong>imp@admin-pages.example</strong> by the administrator <strong>boss@admin-pages.example</strong>',
    );
    expect(me.html).toContain('action="/account/admin/stop-impersonating"');
    // Restricted: the procedure refuses, the page says so next to the form.
    const del = await admin.post('/account/me/delete', {
      currentPassword: PASSWORD,
      csrf: csrfOf(me.html, '/account/me/delete'),
    });
    expect(del.status).toBe(403);
    expect(del.html).toContain('An administrator acting as this user cannot do that.');
    expect(del.html).toContain('by the administrator <strong>boss@admin-pages.example</strong>');
    const adminPage = await admin.get('/account/admin');
    expect(adminPage.status).toBe(403);
    expect(adminPage.html).toContain('Stop impersonating');

    const stopped = await admin.post('/account/admin/stop-impersonating', {
      csrf: csrfOf(me.html, '/account/admin/stop-impersonating'),
    });
    expect(stopped.location).toBe('/account/admin?status=impersonation_ended');
    expect(admin.jar.get(SESSION)).toBe(adminToken);
    expect(admin.jar.has(ADMIN_COOKIE)).toBe(false);
    expect((await admin.get(stopped.location!)).html).toContain('You stopped impersonating.');
    await expect(t.regstack.createCaller({ accessToken: impersonationToken }).account.me()).rejects.toThrow();

    // Signing out of an impersonation ends it and returns to the admin.
    const again = await admin.post('/account/admin/users/impersonate', { id: userId, reason: 'ticket 43', csrf });
    expect(again.location).toBe('/account/me');
    const second = admin.jar.get(SESSION)!;
    const out = await admin.post('/account/logout', {
      csrf: csrfOf((await admin.get('/account/me')).html, '/account/logout'),
    });
    expect(out.location).toBe('/account/admin?status=impersonation_ended');
    expect(admin.jar.get(SESSION)).toBe(adminToken);
    await expect(t.regstack.createCaller({ accessToken: second }).account.me()).rejects.toThrow();

    // Ended elsewhere (the API's stopImpersonating): the next page hands the browser back to the admin.
    await admin.post('/account/admin/users/impersonate', { id: userId, reason: 'ticket 44', csrf });
    const third = admin.jar.get(SESSION)!;
    await t.regstack.createCaller({ accessToken: third }).admin.stopImpersonating();
    const after = await admin.get('/account/me');
    expect(after.location).toBe('/account/admin?status=impersonation_ended');
    expect(admin.jar.get(SESSION)).toBe(adminToken);
    expect((await admin.get('/account/admin')).status).toBe(200);

    // Signed in afresh while impersonating, then an ordinary sign-out: the kept admin session goes too.
    await admin.post('/account/admin/users/impersonate', { id: userId, reason: 'ticket 45', csrf });
    expect(admin.jar.has(ADMIN_COOKIE)).toBe(true);
    await admin.submit('/account/login', '/account/login', { email: 'imp@admin-pages.example', password: PASSWORD });
    const plainOut = await admin.post('/account/logout', {
      csrf: csrfOf((await admin.get('/account/me')).html, '/account/logout'),
    });
    expect(plainOut.location).toBe('/account/login?status=signed_out');
    expect(admin.jar.has(ADMIN_COOKIE)).toBe(false);
    expect((await admin.get('/account/me')).location).toBe('/account/login?next=%2Faccount%2Fme');
  });

  it('enable_admin_router off: no admin page or form answers (404), and me links to none', async () => {
    const off = await startRegstack(ctx.url, { enableUiRouter: true, enableAdminRouter: false });
    const offServer = await off.regstack.listen({ port: 0 });
    try {
      const admin = pageAgent(offServer.url);
      await admin.submit('/account/login', '/account/login', { email: ADMIN, password: PASSWORD });
      const me = await admin.get('/account/me');
      expect(me.status).toBe(200);
      expect(me.html).not.toContain('/account/admin');
      expect((await admin.get('/account/admin')).status).toBe(404);
      const post = await admin.post('/account/admin/users/active', { csrf: csrfOf(me.html), id: 'x', active: 'no' });
      expect(post.status).toBe(404);
      expect((await admin.post('/account/admin/stop-impersonating', { csrf: csrfOf(me.html) })).status).toBe(404);
    } finally {
      await offServer.close();
      await off.regstack.close();
    }
  });
});
