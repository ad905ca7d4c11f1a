/**
 * Issue 19 item 7 ("every link regstack mails must resolve to a page that exists"): real flows make regstack send
 * every kind of mail it has — verification, account exists, password reset, password changed, email-change
 * confirmation and its "this wasn't me" notice to the old address, two-factor changed, recovery code used, account
 * deleted — and every link in each mail's text and HTML is checked. With the pages on, each is requested over
 * HTTP and must land on a page (200, following the token links' one redirect). With the pages off, each must be
 * the address docs/email.md gives: the host's own `/verify`, `/reset-password`, `/confirm-email-change`, `/login`,
 * `/forgot-password` under `email_link_prefix`, or the `*_url_template` — never the pages' `{ui_prefix}/login`,
 * which answers 404 there.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmailMessage, RegstackConfigInput } from '@regstack/server';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, ROOMY_LIMITS } from '../client/support.ts';
import { startRegstack, type TestRegstack } from '../harness/regstack.ts';

const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'another long passphrase 8';

/** Each kind's subject (the built-in templates), so the test knows it saw every kind. */
const KINDS: Record<string, RegExp> = {
  verification: /^Confirm your email for/,
  account_exists: /^Someone tried to sign up/,
  password_reset: /^Reset your .* password/,
  password_changed: /password was changed$/,
  email_change_confirmation: /^Confirm your new email/,
  email_changed: /account is changing$/,
  mfa_changed: /^Two-factor sign-in changed/,
  recovery_code_used: /^A recovery code was used/,
  account_deleted: /account was deleted$/,
};

function linksOf(message: EmailMessage): string[] {
  const fromText = [...message.text.matchAll(/https?:\/\/[^\s<>"]+/g)].map((m) => m[0].replace(/[.,)]+$/, ''));
  const fromHtml = [...message.html.matchAll(/href="([^"]+)"/g)].map((m) => (m[1] ?? '').replaceAll('&amp;', '&'));
  return [...new Set([...fromText, ...fromHtml])];
}

/** Runs the flows that send every kind of mail; returns the messages, all delivered. */
async function mailEveryKind(t: TestRegstack, tag: string): Promise<EmailMessage[]> {
  const email = `${tag}@links.example`;
  const caller = t.regstack.createCaller();
  await caller.register({ email, password: PASSWORD, fullName: 'Link Walker' });
  await t.regstack.drainOutbox();
  const verify = t.mailbox.messages
    .find((m) => m.to === email)
    ?.text.match(/token=([A-Za-z0-9_-]+)|\/verify\/([A-Za-z0-9_-]+)/);
  const token = verify?.[1] ?? verify?.[2];
  if (!token) throw new Error('no verification token mailed');
  await caller.verifyEmail({ token });
  await caller.register({ email, password: PASSWORD }); // account exists
  await caller.forgotPassword({ email });
  const login = await caller.login({ email, password: PASSWORD });
  if (login.status !== 'authenticated') throw new Error('expected a session');
  let me = t.regstack.createCaller({ accessToken: login.accessToken });
  const changed = await me.account.changePassword({ currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
  me = t.regstack.createCaller({ accessToken: changed.accessToken });
  await me.account.changeEmail({ newEmail: `${tag}-new@links.example`, currentPassword: NEW_PASSWORD });
  const enrolment = await me.mfa.totp.start({ currentPassword: NEW_PASSWORD });
  const code = TOTP.generate({ secret: Secret.fromBase32(enrolment.secret) });
  const enabled = await me.mfa.totp.confirm({ code });
  const pending = await caller.login({ email, password: NEW_PASSWORD });
  if (pending.status !== 'mfa_required') throw new Error('expected a second step');
  const recovery = enabled.recoveryCodes?.[0];
  if (!recovery) throw new Error('no recovery codes');
  await caller.mfa.confirmLogin({ mfaPendingToken: pending.mfaPendingToken, method: 'recovery', code: recovery });
  await me.account.delete({ currentPassword: NEW_PASSWORD });
  await t.regstack.settle();
  await t.regstack.drainOutbox();
  const sent = t.mailbox.messages.filter((m) => m.to.startsWith(tag));
  for (const [kind, subject] of Object.entries(KINDS)) {
    expect(
      sent.some((m) => subject.test(m.subject)),
      `${kind} mailed (${sent.map((m) => m.subject).join(' | ')})`,
    ).toBe(true);
  }
  return sent;
}

describe('every mailed link resolves (issue 19 item 7)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'regstack-links-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function start(name: string, overrides: RegstackConfigInput) {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const t = await startRegstack(`sqlite:${join(dir, `${name}.db`)}`, {
      ...ROOMY_LIMITS,
      baseUrl: base,
      appName: 'Acme',
      email: { recipientRateLimit: '100/minute' },
      ...overrides,
    });
    const server = await t.regstack.listen({ port });
    return { t, server, base };
  }

  it('pages on: each link of each kind opens a page (no 404)', async () => {
    const { t, server, base } = await start('on', { enableUiRouter: true });
    try {
      const sent = await mailEveryKind(t, 'on');
      let checked = 0;
      for (const message of sent) {
        const links = linksOf(message);
        for (const link of links) {
          expect(link.startsWith(`${base}/account/`), `${message.subject}: ${link}`).toBe(true);
          let res = await fetch(link, { redirect: 'manual' });
          if (res.status === 303) {
            // A token link moves its token into a cookie and redirects to the bare page (R29).
            const cookie = res.headers
              .getSetCookie()
              .map((c) => c.split(';')[0])
              .join('; ');
            res = await fetch(new URL(res.headers.get('location') ?? '', base), { headers: { cookie } });
          }
          expect(res.status, `${message.subject}: ${link}`).toBe(200);
          expect(res.headers.get('content-type'), link).toMatch(/^text\/html/);
          checked += 1;
        }
      }
      // Login and forgot links from the notices, and the three token pages, were all among them.
      const all = sent.flatMap(linksOf).map((l) => new URL(l).pathname);
      for (const page of ['login', 'forgot', 'verify', 'reset', 'confirm-email-change']) {
        expect(all, page).toContain(`/account/${page}`);
      }
      expect(checked).toBeGreaterThanOrEqual(9);
    } finally {
      await server.close();
      await t.regstack.close();
    }
  });

  it("pages off: each link is the host's own path, as docs/email.md says — none under ui_prefix", async () => {
    const { t, server, base } = await start('off', { enableUiRouter: false });
    try {
      const sent = await mailEveryKind(t, 'off');
      const allowed = [
        /^\/verify\?token=[A-Za-z0-9_-]+$/,
        /^\/reset-password\?token=[A-Za-z0-9_-]+$/,
        /^\/confirm-email-change\?token=[A-Za-z0-9_-]+$/,
        /^\/login$/,
        /^\/forgot-password$/,
      ];
      for (const message of sent) {
        for (const link of linksOf(message)) {
          expect(link.startsWith(base), link).toBe(true);
          const rest = link.slice(base.length);
          expect(
            allowed.some((a) => a.test(rest)),
            `${message.subject}: ${link}`,
          ).toBe(true);
          // Not one is served by regstack itself with the pages off.
          expect((await fetch(link, { redirect: 'manual' })).status, link).toBe(404);
        }
      }
      const notice = sent.find((m) => KINDS.email_changed?.test(m.subject));
      expect(notice?.text).toContain(`reset your password now at ${base}/forgot-password`);
      const exists = sent.find((m) => KINDS.account_exists?.test(m.subject));
      expect(exists?.text).toContain(`sign in at ${base}/login or reset your password at ${base}/forgot-password`);
    } finally {
      await server.close();
      await t.regstack.close();
    }
  });

  it('pages off with email_link_prefix and a hash-routed template: the prefix and the template, as configured', async () => {
    const { t, server, base } = await start('prefix', {
      enableUiRouter: false,
      emailLinkPrefix: '/app',
      verifyUrlTemplate: '{base_url}/#/verify/{token}',
    });
    try {
      const sent = await mailEveryKind(t, 'prefix');
      const allowed = [
        /^\/#\/verify\/[A-Za-z0-9_-]+$/,
        /^\/app\/reset-password\?token=[A-Za-z0-9_-]+$/,
        /^\/app\/confirm-email-change\?token=[A-Za-z0-9_-]+$/,
        /^\/app\/login$/,
        /^\/app\/forgot-password$/,
      ];
      const seen = new Set<number>();
      for (const message of sent) {
        for (const link of linksOf(message)) {
          const index = allowed.findIndex((a) => a.test(link.slice(base.length)));
          expect(index, `${message.subject}: ${link}`).toBeGreaterThanOrEqual(0);
          seen.add(index);
        }
      }
      expect([...seen].sort()).toEqual([0, 1, 2, 3, 4]);
    } finally {
      await server.close();
      await t.regstack.close();
    }
  });
});
