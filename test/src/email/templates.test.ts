/**
 * The mail templates: every kind renders subject + text + HTML; links come from `base_url` + `ui_prefix` only
 * (R28); values are HTML-escaped in the HTML part; the subject is one line (header injection); host overrides from
 * `email.templates_dir` replace any part, fall back per file, and are checked at startup (fail fast).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createRegstack,
  createTemplates,
  EMAIL_KINDS,
  type EmailKind,
  type EmailLinkOptions,
  type EmailTemplates,
  parseConfig,
  silentLogger,
  TEMPLATE_VARIABLES,
  TemplateError,
} from '@regstack/server';
import {
  accountExistsEmail,
  BUILT_IN_TEMPLATES,
  checkTemplateSource,
  formatDuration,
  placeholdersOf,
  type RenderedEmail,
  sanitizeSubject,
  verificationEmail,
} from '@regstack/server/internal';
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_SECRET } from '../harness/regstack.ts';

const ctx = { appName: 'Acme', baseUrl: 'https://accounts.example.test', uiPrefix: '/account' };
const TOKEN = 'tok_ABC-123_xyz';

function renderAll(templates: EmailTemplates): Record<EmailKind, RenderedEmail> {
  return {
    verification: templates.verification({ token: TOKEN, ttlSeconds: 86_400 }),
    account_exists: templates.accountExists({ fullName: 'Ada Lovelace' }),
    password_reset: templates.passwordReset({ token: TOKEN, ttlSeconds: 1800, fullName: 'Ada Lovelace' }),
    password_changed: templates.passwordChanged({ fullName: 'Ada Lovelace' }),
    email_change_confirmation: templates.emailChangeConfirmation({
      token: TOKEN,
      ttlSeconds: 3600,
      newEmail: 'new@example.com',
      fullName: 'Ada Lovelace',
    }),
    email_changed: templates.emailChanged({ newEmail: 'new@example.com', fullName: 'Ada Lovelace' }),
    account_deleted: templates.accountDeleted({ fullName: 'Ada Lovelace' }),
    mfa_changed: templates.mfaChanged({ change: 'An authenticator app was added', fullName: 'Ada Lovelace' }),
    recovery_code_used: templates.recoveryCodeUsed({ remaining: 9, fullName: 'Ada Lovelace' }),
  };
}

const tempDirs: string[] = [];
function templatesDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'regstack-templates-'));
  tempDirs.push(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}
afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('built-in templates', () => {
  it('render every kind as a one-line subject, a text part and an HTML document', () => {
    const all = renderAll(createTemplates(ctx));
    expect(Object.keys(all).sort()).toEqual([...EMAIL_KINDS].sort());
    for (const kind of EMAIL_KINDS) {
      const mail = all[kind];
      expect(mail.subject, kind).toMatch(/\S/);
      expect(mail.subject, kind).not.toMatch(/[\r\n]/);
      expect(mail.text, kind).toContain('Acme');
      expect(mail.html, kind).toMatch(/^<!doctype html>/);
      // Every placeholder was filled.
      expect(`${mail.subject}${mail.text}${mail.html}`, kind).not.toContain('{{');
    }
  });

  it('use only the variables their kind documents', () => {
    for (const kind of EMAIL_KINDS) {
      for (const part of ['subject', 'text', 'html'] as const) {
        expect(
          checkTemplateSource(BUILT_IN_TEMPLATES[kind][part], TEMPLATE_VARIABLES[kind]),
          `${kind}.${part}`,
        ).toEqual([]);
      }
    }
  });

  it('build each token link from base_url + ui_prefix and the page of its kind (R28)', () => {
    const all = renderAll(createTemplates(ctx));
    const expected: Partial<Record<EmailKind, string>> = {
      verification: 'verify',
      password_reset: 'reset',
      email_change_confirmation: 'confirm-email-change',
    };
    for (const [kind, page] of Object.entries(expected) as [EmailKind, string][]) {
      const link = `https://accounts.example.test/account/${page}?token=${TOKEN}`;
      expect(all[kind].text, kind).toContain(link);
      expect(all[kind].html, kind).toContain(`href="${link}"`);
    }
    // Every absolute URL in every message points at the configured origin and nowhere else.
    for (const kind of EMAIL_KINDS) {
      for (const url of `${all[kind].text}\n${all[kind].html}`.match(/https?:\/\/[^\s"<]+/g) ?? []) {
        expect(url.startsWith('https://accounts.example.test/account/'), `${kind}: ${url}`).toBe(true);
      }
    }
    // Notices carry no token at all.
    for (const kind of ['account_exists', 'password_changed', 'email_changed', 'account_deleted'] as const) {
      expect(all[kind].text, kind).not.toContain('token=');
    }
  });

  it('send the old address of an email change a "this wasn\'t me" path: the forgot page and the support text', () => {
    const templates = createTemplates({ ...ctx, supportText: 'Write to security@acme.test.' });
    const mail = templates.emailChanged({ newEmail: 'new@example.com' });
    expect(mail.text).toContain('new@example.com');
    expect(mail.text).toMatch(/wasn.t me/);
    expect(mail.text).toContain('https://accounts.example.test/account/forgot');
    expect(mail.text).toContain('Write to security@acme.test.');
    expect(mail.html).toContain('href="https://accounts.example.test/account/forgot"');
  });

  it('state link lifetimes in words', () => {
    const templates = createTemplates(ctx);
    expect(templates.verification({ token: TOKEN, ttlSeconds: 86_400 }).text).toContain('expires in 24 hours');
    expect(templates.passwordReset({ token: TOKEN, ttlSeconds: 1800 }).text).toContain('expires in 30 minutes');
    expect(formatDuration(3600)).toBe('1 hour');
    expect(formatDuration(60)).toBe('1 minute');
    expect(formatDuration(5400)).toBe('90 minutes');
  });

  it('HTML-escape every value in the HTML part and leave the text part plain', () => {
    const hostile = createTemplates({ ...ctx, appName: '<script>alert("app")</script>' });
    const mail = hostile.passwordChanged({ fullName: '<img src=x onerror="alert(1)">' });
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).not.toContain('<img');
    expect(mail.html).toContain('&#60;script&#62;alert(&#34;app&#34;)&#60;/script&#62;');
    expect(mail.html).toContain('&#60;img src=x onerror=&#34;alert(1)&#34;&#62;');
    expect(mail.text).toContain('Hello <img src=x onerror="alert(1)">,');
    const verification = hostile.verification({ token: '"><script>', ttlSeconds: 3600 });
    expect(verification.html).not.toContain('<script>');
    // Tokens are URL-encoded into the link, then the link is HTML-escaped into the attribute.
    expect(verification.text).toContain('/verify?token=%22%3E%3Cscript%3E');
  });

  it('put token links where email_link_prefix and the *_url_template keys say (issue 19 item 7)', () => {
    const links = (options: Omit<EmailLinkOptions, 'pages'> & { pages?: boolean }) => {
      const t = createTemplates({ ...ctx, links: { pages: false, ...options } });
      return [
        t.verification({ token: TOKEN, ttlSeconds: 3600 }).text,
        t.passwordReset({ token: TOKEN, ttlSeconds: 600 }).text,
        t.emailChangeConfirmation({ token: TOKEN, ttlSeconds: 600, newEmail: 'new@example.test' }).text,
      ].map((text) => /https?:\/\/\S+/.exec(text)?.[0]);
    };
    const base = 'https://accounts.example.test';
    // regstack serves the pages: its own page names under ui_prefix.
    expect(links({ pages: true })).toEqual([
      `${base}/account/verify?token=${TOKEN}`,
      `${base}/account/reset?token=${TOKEN}`,
      `${base}/account/confirm-email-change?token=${TOKEN}`,
    ]);
    // The host serves them (pages off, or another prefix): the Python regstack's paths.
    expect(links({})).toEqual([
      `${base}/verify?token=${TOKEN}`,
      `${base}/reset-password?token=${TOKEN}`,
      `${base}/confirm-email-change?token=${TOKEN}`,
    ]);
    expect(links({ pages: true, prefix: '/app' })[1]).toBe(`${base}/app/reset-password?token=${TOKEN}`);
    // A template wins, literally (a hash-routed SPA, another origin).
    expect(
      links({
        pages: true,
        prefix: '/app',
        verifyTemplate: '{base_url}/#/verify/{token}',
        resetTemplate: 'https://app.example.test/reset/{token}',
        emailChangeTemplate: '{base_url}/#/email?t={token}&again={token}',
      }),
    ).toEqual([
      `${base}/#/verify/${TOKEN}`,
      `https://app.example.test/reset/${TOKEN}`,
      `${base}/#/email?t=${TOKEN}&again=${TOKEN}`,
    ]);
  });

  it('never echo a name into the verification mail (anyone can type one for any address)', () => {
    expect(TEMPLATE_VARIABLES.verification).not.toContain('full_name');
    expect(TEMPLATE_VARIABLES.verification).not.toContain('greeting');
    const mail = createTemplates(ctx).verification({ token: TOKEN, ttlSeconds: 3600 });
    expect(mail.text).not.toMatch(/Hello/);
  });

  it('keep the subject to one line whatever a value holds (header injection)', () => {
    const mail = createTemplates({ ...ctx, appName: 'Acme\r\nBcc: victim@example.com\n' }).passwordReset({
      token: TOKEN,
      ttlSeconds: 600,
    });
    expect(mail.subject).toBe('Reset your Acme Bcc: victim@example.com password');
    expect(sanitizeSubject('a\u0000b\tc\u2028d\u0085e')).toBe('a b c d e');
  });

  it('keep verificationEmail(ctx, token, ttlHours) and accountExistsEmail(ctx) working', () => {
    const mail = verificationEmail(ctx, TOKEN, 24);
    expect(mail.subject).toBe('Confirm your email for Acme');
    expect(mail.text).toContain(`https://accounts.example.test/account/verify?token=${TOKEN}`);
    expect(mail.text).toContain('24 hours');
    const notice = accountExistsEmail(ctx);
    expect(notice.text).toContain('https://accounts.example.test/account/login');
    expect(notice.text).toContain('https://accounts.example.test/account/forgot');
  });
});

describe('template overrides (email.templates_dir)', () => {
  it('replace the parts that have a file and keep the built-in for the others', () => {
    const dir = templatesDir({
      'password_reset.subject.txt': '{{ app_name }}: new password\n',
      'password_reset.html': '<p>{{greeting}} <a href="{{reset_url}}">go</a> ({{expires_in}}) {{full_name}}</p>',
      'README.md': 'Our mail templates. {{not_checked}}',
    });
    const templates = createTemplates({ ...ctx, templatesDir: dir });
    const mail = templates.passwordReset({ token: TOKEN, ttlSeconds: 900, fullName: '<b>Ada</b>' });
    expect(mail.subject).toBe('Acme: new password');
    expect(mail.html).toBe(
      `<p>Hello &#60;b&#62;Ada&#60;/b&#62;, <a href="https://accounts.example.test/account/reset?token=${TOKEN}">go</a> (15 minutes) &#60;b&#62;Ada&#60;/b&#62;</p>`,
    );
    // No password_reset.txt: the built-in text part, with the same link.
    expect(mail.text).toBe(
      createTemplates(ctx).passwordReset({ token: TOKEN, ttlSeconds: 900, fullName: '<b>Ada</b>' }).text,
    );
    // Other kinds untouched.
    expect(templates.passwordChanged().subject).toBe('Your Acme password was changed');
  });

  it('fill the text part verbatim and strip CR/LF from an override subject', () => {
    const dir = templatesDir({
      'account_deleted.subject.txt': 'Goodbye from {{app_name}}\r\nBcc: victim@example.com\r\n',
      'account_deleted.txt': 'Bye {{full_name}} & thanks. {{support_text}}\n',
    });
    const mail = createTemplates({ ...ctx, templatesDir: dir, supportText: 'Mail help@acme.test.' }).accountDeleted({
      fullName: 'Ada <3',
    });
    expect(mail.subject).toBe('Goodbye from Acme Bcc: victim@example.com');
    expect(mail.text).toBe('Bye Ada <3 & thanks. Mail help@acme.test.\n');
  });

  it('reach the legacy verificationEmail() too when it is handed the instance templates', () => {
    const dir = templatesDir({ 'verification.txt': 'Open {{verify_url}} within {{expires_in}}.' });
    const templates = createTemplates({ ...ctx, templatesDir: dir });
    expect(verificationEmail(templates, TOKEN, 2).text).toBe(
      `Open https://accounts.example.test/account/verify?token=${TOKEN} within 2 hours.`,
    );
  });

  it('fail fast, listing every problem: unknown placeholders, unknown kinds, stray braces', () => {
    const dir = templatesDir({
      'verification.txt': 'Hi {{full_name}}, open {{verify_url}} {{ host }}',
      'password_reset.html': '<p>{{reset_url}} {{oops</p>',
      'pasword_reset.txt': '{{reset_url}}',
      'email_changed.subject.txt': '{{new_email}} is yours now',
    });
    let error: unknown;
    try {
      createTemplates({ ...ctx, templatesDir: dir });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TemplateError);
    const e = error as TemplateError;
    expect(e.code).toBe('EMAIL_TEMPLATE_INVALID');
    expect(e.problems).toHaveLength(4);
    expect(e.message).toContain('verification.txt: unknown placeholder {{full_name}}');
    expect(e.message).toContain('verification.txt: unknown placeholder {{host}}');
    expect(e.message).toContain('password_reset.html: a "{{" that does not form a {{placeholder}}');
    expect(e.message).toContain('pasword_reset.txt: no mail kind "pasword_reset"');
  });

  it('fail fast on a directory that does not exist', () => {
    expect(() => createTemplates({ ...ctx, templatesDir: join(tmpdir(), 'regstack-no-such-dir-x9') })).toThrow(
      TemplateError,
    );
  });

  it('stop createRegstack() at startup when email.templates_dir is broken', async () => {
    const dir = templatesDir({ 'password_changed.txt': 'Changed at {{changed_at}}' });
    const config = parseConfig({
      jwtSecret: TEST_SECRET,
      databaseUrl: 'sqlite::memory:',
      email: { templatesDir: dir },
    });
    await expect(createRegstack({ config, logger: silentLogger, startWorkers: false })).rejects.toMatchObject({
      name: 'TemplateError',
      code: 'EMAIL_TEMPLATE_INVALID',
    });
  });

  it('document a variable list per kind that the template language can parse', () => {
    expect(placeholdersOf('{{a}} {{ b }} {{a}}')).toEqual(['a', 'b']);
    for (const kind of EMAIL_KINDS) {
      expect(TEMPLATE_VARIABLES[kind], kind).toContain('app_name');
      for (const name of TEMPLATE_VARIABLES[kind]) expect(name).toMatch(/^[a-z_]+$/);
    }
  });
});
