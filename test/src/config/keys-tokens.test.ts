/**
 * Issue 20, "every config key honest": proofs for the keys that shape tokens and mailed links, on every backend,
 * through `createCaller`: the JWT issuer, audience, previous secrets (R32), algorithm and private key (R31), the
 * email-change and impersonation lifetimes, the link templates and `ui_prefix`. Each sets a non-default value and
 * observes what the default would not do.
 */
import { generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { createManualClock } from '@regstack/server';
import { afterEach, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { codeOf, outcome } from '../harness/outcomes.ts';
import { createVerifiedUser, startRegstack, type TestRegstack } from '../harness/regstack.ts';

const PASSWORD = 'correct horse battery staple';

const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { iss?: string; aud?: unknown };

describeEachBackend('config keys of tokens and links (issue 20)', (ctx) => {
  let t: TestRegstack | undefined;
  afterEach(async () => {
    await t?.regstack.close();
    t = undefined;
  });

  const accessToken = async (email: string) => {
    const res = await t!.regstack.createCaller().login({ email, password: PASSWORD });
    if (res.status !== 'authenticated') throw new Error('expected a session');
    return res.accessToken;
  };
  const me = (token: string) => outcome(t!.regstack.createCaller({ accessToken: token }).account.me());

  it('jwt_issuer and jwt_audience are stamped on access tokens and required of them', async () => {
    t = await startRegstack(ctx.url);
    await createVerifiedUser(t, 'claims@example.com');
    const plain = await accessToken('claims@example.com');
    await t.regstack.close();

    t = await startRegstack(ctx.url, { jwtIssuer: 'https://id.quill.test', jwtAudience: 'quill-api' });
    const stamped = await accessToken('claims@example.com');
    expect(claimsOf(stamped)).toMatchObject({ iss: 'https://id.quill.test' });
    expect([claimsOf(stamped).aud].flat()).toContain('quill-api');
    expect(await me(stamped)).toBe('ok');
    // Same secret, same session store: only the issuer and audience differ.
    expect(await me(plain)).toBe('UNAUTHENTICATED');
  });

  it('jwt_previous_secrets keeps tokens signed with a retired secret valid during a rotation', async () => {
    const retired = randomBytes(32).toString('base64url');
    const current = randomBytes(32).toString('base64url');
    t = await startRegstack(ctx.url, { jwtSecret: retired });
    await createVerifiedUser(t, 'rotate@example.com');
    const old = await accessToken('rotate@example.com');
    await t.regstack.close();

    t = await startRegstack(ctx.url, { jwtSecret: current, jwtPreviousSecrets: [retired] });
    expect(await me(old)).toBe('ok');
    await t.regstack.close();

    t = await startRegstack(ctx.url, { jwtSecret: current });
    expect(await me(old)).toBe('UNAUTHENTICATED');
  });

  it('email_change_token_ttl_seconds ends the email-change link at its lifetime', async () => {
    const clock = createManualClock();
    t = await startRegstack(ctx.url, { emailChangeTokenTtlSeconds: 120, loginRateLimit: 'none' }, { clock });
    const tokens: string[] = [];
    for (const name of ['change-early', 'change-late']) {
      await createVerifiedUser(t, `${name}@example.com`);
      const session = await accessToken(`${name}@example.com`);
      await t.regstack
        .createCaller({ accessToken: session })
        .account.changeEmail({ newEmail: `${name}-new@example.com`, currentPassword: PASSWORD });
      await t.regstack.drainOutbox();
      tokens.push(t.mailbox.tokenFor(`${name}-new@example.com`, 'confirm-email-change')!);
    }
    const caller = t.regstack.createCaller();
    clock.advance(119_000);
    expect(await outcome(caller.account.confirmEmailChange({ token: tokens[0]! }))).toBe('ok');
    // Past 120 s, far inside the default hour.
    clock.advance(2_000);
    expect(await codeOf(caller.account.confirmEmailChange({ token: tokens[1]! }))).toBe('INVALID_OR_EXPIRED_TOKEN');
  });

  it('impersonation_ttl_seconds ends an impersonation session at its lifetime', async () => {
    const clock = createManualClock();
    t = await startRegstack(
      ctx.url,
      { enableAdminRouter: true, impersonationTtlSeconds: 120, loginRateLimit: 'none' },
      { clock },
    );
    await t.regstack.bootstrapAdmin({ email: 'desk@example.com', password: PASSWORD });
    const admin = await accessToken('desk@example.com');
    await createVerifiedUser(t, 'customer@example.com');
    const userId = (
      await t.regstack.createCaller({ accessToken: await accessToken('customer@example.com') }).account.me()
    ).id;
    const imp = await t.regstack
      .createCaller({ accessToken: admin })
      .admin.users.impersonate({ id: userId, reason: 'ticket 12: wrong invoice address' });
    clock.advance(119_000);
    expect(await me(imp.accessToken)).toBe('ok');
    // Past 120 s and the default 5 s clock leeway on `exp` (R34), far inside the default 15 minutes.
    clock.advance(7_000);
    expect(await me(imp.accessToken)).toBe('UNAUTHENTICATED');
  });

  it('password_reset_url_template and email_change_url_template shape the mailed links', async () => {
    t = await startRegstack(ctx.url, {
      passwordResetUrlTemplate: '{base_url}/#/reset/{token}',
      emailChangeUrlTemplate: '{base_url}/#/email/{token}',
      loginRateLimit: 'none',
    });
    await createVerifiedUser(t, 'templated@example.com');
    const caller = t.regstack.createCaller();
    await caller.forgotPassword({ email: 'templated@example.com' });
    const session = await accessToken('templated@example.com');
    await t.regstack
      .createCaller({ accessToken: session })
      .account.changeEmail({ newEmail: 'templated-new@example.com', currentPassword: PASSWORD });
    await t.regstack.drainOutbox();
    // The defaults would be the host's /reset-password?token= and /confirm-email-change?token=.
    expect(t.mailbox.latest('templated@example.com', /reset/i)?.text).toMatch(
      /https:\/\/accounts\.example\.test\/#\/reset\/[A-Za-z0-9_-]{43}/,
    );
    expect(t.mailbox.latest('templated-new@example.com')?.text).toMatch(
      /https:\/\/accounts\.example\.test\/#\/email\/[A-Za-z0-9_-]{43}/,
    );
  });

  it('ui_prefix moves the pages and the mailed links with them', async () => {
    t = await startRegstack(ctx.url, { enableUiRouter: true, uiPrefix: '/konto' });
    await t.regstack.createCaller().register({ email: 'prefixed@example.com', password: PASSWORD });
    await t.regstack.drainOutbox();
    // The default would be /account/verify.
    expect(t.mailbox.latest('prefixed@example.com')?.text).toContain(
      'https://accounts.example.test/konto/verify?token=',
    );
    const server = await t.regstack.listen({ port: 0 });
    try {
      expect((await fetch(new URL('/konto/login', server.url))).status).toBe(200);
      expect((await fetch(new URL('/account/login', server.url))).status).toBe(404);
    } finally {
      await server.close();
    }
  });
  it('jwt_algorithm and jwt_private_key: EdDSA tokens signed with the configured key', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    t = await startRegstack(ctx.url, { jwtAlgorithm: 'EdDSA', jwtPrivateKey: pem });
    await createVerifiedUser(t, 'eddsa@example.com');
    const token = await accessToken('eddsa@example.com');
    const [header, payload, signature] = token.split('.') as [string, string, string];
    // The default is HS256 with a key derived from jwt_secret.
    expect(JSON.parse(Buffer.from(header, 'base64url').toString('utf8'))).toMatchObject({ alg: 'EdDSA' });
    expect(verify(null, Buffer.from(`${header}.${payload}`), publicKey, Buffer.from(signature, 'base64url'))).toBe(
      true,
    );
    expect(await me(token)).toBe('ok');
  });
});
