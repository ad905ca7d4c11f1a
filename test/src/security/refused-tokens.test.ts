/**
 * Issue 14 item 12 (R73, R63, R62): refused bearer tokens leave a trace. Over real HTTP on every backend, garbage,
 * forged (wrong key), expired, revoked (after logout) and inactive-user tokens each get 401 UNAUTHENTICATED and
 * exactly one `access_token_refused` audit row and one warning line, with the right reason class, the client's
 * address and user agent, the claimed user only when the signature verified — and no part of the token anywhere
 * in the row or the log. A flood of 1,000 garbage tokens leaves a bounded number of rows and one summary line of
 * what was left out; a failing audit write leaves the 401 unchanged.
 */
import { createHmac } from 'node:crypto';
import { createJsonLogger, createManualClock, createRegstack, parseConfig, type Regstack } from '@regstack/server';
import {
  AuditEventSchema,
  createTokenService,
  PER_CLIENT_PER_WINDOW,
  PER_PROCESS_PER_WINDOW,
  REFUSED_TOKEN_WINDOW_MS,
  UserSchema,
} from '@regstack/server/internal';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { createMailbox, createVerifiedUser, TEST_SECRET } from '../harness/regstack.ts';
import { checkedSecret } from '../harness/validated-config.ts';
import { hostAndPort, startDbProxy, throughProxy } from '../http/db-proxy.ts';
import { data, error, rawClient } from '../http/http-client.ts';

const PASSWORD = 'correct horse battery staple';
const AGENT = 'refused-token-test/1.0 <script>';

describeEachBackend('refused bearer tokens leave a trace (R73, item 12)', (ctx) => {
  let regstack: Regstack;
  let server: { url: string; close(): Promise<void> };
  let api: ReturnType<typeof rawClient>;
  const clock = createManualClock(Date.now());
  const logs: string[] = [];
  const mailbox = createMailbox();
  let nextIp = 1;
  /** A fresh client address per case, so one case's per-client budget never hides another's row. */
  const clientIp = () => `198.51.100.${nextIp++}`;

  beforeAll(async () => {
    const config = parseConfig({
      jwtSecret: TEST_SECRET,
      databaseUrl: ctx.url,
      baseUrl: 'https://accounts.example.test',
      hashQueueLimit: 256,
      trustedProxies: ['127.0.0.1', '::1'],
      loginRateLimit: '1000/minute',
    });
    regstack = await createRegstack({
      config,
      email: mailbox,
      clock,
      logger: createJsonLogger({ level: 'debug', write: (line) => logs.push(line) }),
    });
    await regstack.installSchema();
    server = await regstack.listen({ port: 0 });
    api = rawClient(server.url);
  });
  afterAll(async () => {
    await server?.close();
    await regstack?.close();
  });

  async function refusedRows() {
    return ctx.storage.fork().find(AuditEventSchema, { event: 'access_token_refused' }, { disableIdentityMap: true });
  }

  async function userWithToken(email: string) {
    await createVerifiedUser({ regstack, mailbox }, email, PASSWORD);
    const login = await api.mutation('auth.login', { email, password: PASSWORD });
    expect(login.status).toBe(200);
    const me = await api.query('auth.account.me', undefined, { authorization: `Bearer ${data(login).accessToken}` });
    return { token: data(login).accessToken as string, userId: data(me).id as string };
  }

  /** Sends `me` with `authorization` from a fresh client; checks the 401 and the one row and line it leaves. */
  async function refusedOnce(authorization: string, secretParts: string[]) {
    const ip = clientIp();
    const rowsBefore = (await refusedRows()).length;
    const linesBefore = logs.length;
    const res = await api.query('auth.account.me', undefined, {
      authorization,
      'x-forwarded-for': ip,
      'user-agent': AGENT,
    });
    expect(res.status).toBe(401);
    expect(error(res).data.regstackCode).toBe('UNAUTHENTICATED');
    await regstack.settle();
    const rows = (await refusedRows()).filter((r) => r.ip === ip);
    expect(rows).toHaveLength(1);
    expect((await refusedRows()).length).toBe(rowsBefore + 1);
    const lines = logs.slice(linesBefore).filter((l) => l.includes('"msg":"access token refused"'));
    expect(lines).toHaveLength(1);
    // R62: not the token, nor any piece of it, in the row or anywhere in the log.
    const row = rows[0]!;
    const everything = `${JSON.stringify(row)}\n${logs.join('\n')}`;
    for (const part of secretParts) expect(everything).not.toContain(part);
    expect(row.userAgent).toBe(AGENT);
    return { row, line: JSON.parse(lines[0]!) as Record<string, unknown> };
  }

  /** The pieces of a token that must never show up: the whole, and each segment. */
  const piecesOf = (token: string) => [token, ...token.split('.').filter((p) => p.length >= 8)];

  it('garbage — unparseable or not a JWS — is recorded as malformed, with no claimed user', async () => {
    for (const garbage of [
      'not-a-jwt-at-all-0123456789',
      'AAAAAAAAAAAA.BBBBBBBBBBBB.CCCCCCCCCCCC',
      '%%%%garbage%%%%',
    ]) {
      const { row, line } = await refusedOnce(`Bearer ${garbage}`, piecesOf(garbage));
      expect(row.details).toEqual({ reason: 'malformed' });
      expect(row.subjectId).toBeNull();
      expect(line).toMatchObject({ level: 'warn', reason: 'malformed', claimedUserId: null, userAgent: AGENT });
    }
  });

  it('no Authorization header at all is a plain 401 and records nothing', async () => {
    const before = (await refusedRows()).length;
    const res = await api.query('auth.account.me', undefined, { 'x-forwarded-for': clientIp() });
    expect(res.status).toBe(401);
    await regstack.settle();
    expect((await refusedRows()).length).toBe(before);
  });

  it('a forged signature (a key regstack does not hold) is recorded as bad_signature, with no claimed user', async () => {
    const { token, userId } = await userWithToken(`forged-${ctx.backend}@example.com`);
    const [header, payload] = token.split('.');
    // The real kid, signed with another key.
    const wrongMac = createHmac('sha256', 'an attacker key that is not the one').update(`${header}.${payload}`);
    const tampered = `${header}.${payload}.${wrongMac.digest('base64url')}`;
    const first = await refusedOnce(`Bearer ${tampered}`, [...piecesOf(tampered), ...piecesOf(token)]);
    expect(first.row.details).toEqual({ reason: 'bad_signature' });
    expect(first.row.subjectId).toBeNull();
    expect(first.line).not.toHaveProperty('claimedUserId', userId);

    // A whole token minted under another secret (its kid names no key here).
    const other = createTokenService({
      secret: checkedSecret('x'.repeat(40)),
      issuer: regstack.config.jwtIssuer,
      audience: regstack.config.jwtAudience,
      ttlSeconds: 900,
      clockToleranceSeconds: regstack.config.jwtClockToleranceSeconds,
      clock,
    });
    const foreign = (await other.issueAccessToken({ userId, sessionId: 'a-session' })).token;
    const second = await refusedOnce(`Bearer ${foreign}`, piecesOf(foreign));
    expect(second.row.details).toEqual({ reason: 'bad_signature' });
    expect(second.row.subjectId).toBeNull();
  });

  it('an expired token is recorded as expired, naming the user its verified signature claims', async () => {
    const { token, userId } = await userWithToken(`expired-${ctx.backend}@example.com`);
    const start = clock.now().getTime();
    clock.advance((regstack.config.jwtTtlSeconds + regstack.config.jwtClockToleranceSeconds + 1) * 1000);
    try {
      const { row, line } = await refusedOnce(`Bearer ${token}`, piecesOf(token));
      expect(row.details).toEqual({ reason: 'expired' });
      expect(row.subjectId).toBe(userId);
      expect(line).toMatchObject({ reason: 'expired', claimedUserId: userId });
    } finally {
      clock.set(start);
    }
  });

  it('a token revoked by logout is recorded as revoked_or_unknown_session', async () => {
    const { token, userId } = await userWithToken(`revoked-${ctx.backend}@example.com`);
    const out = await api.mutation('auth.logout', undefined, { authorization: `Bearer ${token}` });
    expect(out.status).toBe(200);
    const { row } = await refusedOnce(`Bearer ${token}`, piecesOf(token));
    expect(row.details).toEqual({ reason: 'revoked_or_unknown_session' });
    expect(row.subjectId).toBe(userId);
  });

  it("a deactivated user's token is recorded as inactive_user", async () => {
    const { token, userId } = await userWithToken(`inactive-${ctx.backend}@example.com`);
    await ctx.storage.fork().nativeUpdate(UserSchema, { id: userId }, { isActive: false });
    const { row } = await refusedOnce(`Bearer ${token}`, piecesOf(token));
    expect(row.details).toEqual({ reason: 'inactive_user' });
    expect(row.subjectId).toBe(userId);
  });

  it('a flood of 1,000 garbage tokens leaves a bounded number of rows and one count of the rest', async () => {
    clock.advance(REFUSED_TOKEN_WINDOW_MS + 1000); // a window of its own
    const before = (await refusedRows()).length;
    const flooder = clientIp();
    const many = Array.from({ length: 200 }, () => clientIp());
    const statuses: number[] = [];
    for (let batch = 0; batch < 20; batch++) {
      const sent = Array.from({ length: 50 }, (_, i) => {
        const n = batch * 50 + i;
        // Half from one client, half spread over 200 clients.
        const ip = n % 2 === 0 ? flooder : many[(n >> 1) % many.length]!;
        return api.query('auth.account.me', undefined, {
          authorization: `Bearer flood.${n}.garbage`,
          'x-forwarded-for': ip,
        });
      });
      for (const res of await Promise.all(sent)) statuses.push(res.status);
    }
    expect(statuses).toHaveLength(1000);
    expect(statuses.every((s) => s === 401)).toBe(true);
    await regstack.settle();
    const added = (await refusedRows()).slice(before);
    expect((await refusedRows()).length - before).toBeLessThanOrEqual(PER_PROCESS_PER_WINDOW);
    expect(added.filter((r) => r.ip === flooder).length).toBeLessThanOrEqual(PER_CLIENT_PER_WINDOW);
    const recorded = (await refusedRows()).length - before;
    expect(recorded).toBeGreaterThan(0);

    // The window ends: the next refusal first logs how many the last one left out.
    clock.advance(REFUSED_TOKEN_WINDOW_MS + 1000);
    await api.query('auth.account.me', undefined, {
      authorization: 'Bearer after.the.flood',
      'x-forwarded-for': clientIp(),
    });
    const summary = logs.filter((l) => l.includes('refused access tokens not recorded'));
    expect(summary).toHaveLength(1);
    expect(JSON.parse(summary[0] ?? '{}')).toMatchObject({ level: 'warn', suppressed: 1000 - recorded });
    expect(logs.filter((l) => l.includes('"msg":"access token refused"')).length).toBeLessThan(200);
  });

  it('a failing audit write leaves the refusal a plain 401 (and is logged)', async () => {
    // SQL: the instance's own storage is closed below. MongoDB's client reopens on use, so there the instance
    // reaches FerretDB through a loopback proxy (regstack reaches its database at start) that is then cut, with a
    // short server-selection timeout.
    const proxy = ctx.backend === 'mongodb' ? await startDbProxy(hostAndPort(ctx.url, 27017)) : null;
    const databaseUrl = proxy
      ? `${throughProxy(ctx.url, proxy)}${ctx.url.includes('?') ? '&' : '?'}serverSelectionTimeoutMS=300&connectTimeoutMS=300`
      : ctx.url;
    const config = parseConfig({ jwtSecret: TEST_SECRET, databaseUrl, hashQueueLimit: 256 });
    const lines: string[] = [];
    const broken = await createRegstack({
      config,
      email: createMailbox(),
      startWorkers: false,
      logger: createJsonLogger({ write: (line) => lines.push(line) }),
    });
    if (proxy) await proxy.cut();
    else await broken.storage.close(); // every database write now fails
    try {
      const res = await broken.handle(
        new Request('http://localhost/trpc/auth.account.me', {
          headers: { authorization: 'Bearer broken.audit.write' },
        }),
      );
      expect(res.status).toBe(401);
      const body = (await res.json()) as { error: { json: { data: { regstackCode: string } } } };
      expect(body.error.json.data.regstackCode).toBe('UNAUTHENTICATED');
      await broken.settle();
      expect(lines.some((l) => l.includes('could not record a refused access token'))).toBe(true);
      expect(lines.join('\n')).not.toContain('broken.audit.write');
    } finally {
      await broken.close().catch(() => undefined);
      await proxy?.close();
    }
  });
});
