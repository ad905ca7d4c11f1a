/**
 * Access and MFA-pending tokens (SECURITY.md R31–R35, R40, R50). Attack tokens are built by hand with node:crypto —
 * not with jose — so every header byte is under the test's control; the keys are re-derived here from the documented
 * HKDF parameters, which pins them (changing the salt, an info string or the kid recipe breaks these tests). Every
 * rejection must be the same error: code UNAUTHENTICATED and one message, whatever the cause (R35).
 */
import {
  createHash,
  createHmac,
  createPublicKey,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  randomBytes,
  sign as signWithKey,
  verify as verifyWithKey,
} from 'node:crypto';
import { createManualClock, parseConfig } from '@regstack/server';
import { type AccessTokenAlgorithm, createTokenService, type TokenServiceOptions } from '@regstack/server/internal';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { checkedSecret, checkedTolerance } from '../harness/validated-config.ts';

const SECRET = checkedSecret('test-master-secret-0123456789-abcdefghijklmnop');
const OLD_SECRET = checkedSecret('old-master-secret-0123456789-abcdefghijklmnopq');
const OTHER_SECRET = checkedSecret('unrelated-secret-0123456789-abcdefghijklmnopqr');
const ISSUER = 'https://auth.example.test';
const AUDIENCE = 'example-app';
const TTL = 7200;
const TOLERANCE = checkedTolerance(5);
/** A start time with a millisecond part, so second truncation would show. */
const START = Date.parse('2031-05-06T07:08:09.123Z');
const INVALID = { name: 'RegstackError', code: 'UNAUTHENTICATED', message: 'Invalid or expired access token' };

// ── The documented key recipe, re-implemented (pins HKDF salt, info strings and the kid) ──────────────────────────
const HKDF_SALT = 'regstack/v1/hkdf-salt';
const INFO_ACCESS = 'regstack/v1/access-token';
const INFO_MFA = 'regstack/v1/mfa-pending';

function derive(secret: string, info: string, length = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, HKDF_SALT, info, length));
}
function kidOf(keyBytes: Uint8Array): string {
  return createHash('sha256').update('regstack/v1/kid\u0000').update(keyBytes).digest('hex').slice(0, 16);
}
const ACCESS_KEY = derive(SECRET, INFO_ACCESS);
const ACCESS_KID = kidOf(ACCESS_KEY);
const MFA_KEY = derive(SECRET, INFO_MFA);
const MFA_KID = kidOf(MFA_KEY);

// ── Hand-made JWS ───────────────────────────────────────────────────────────────────────────────────────────────
type Json = Record<string, unknown>;
const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

function hmacJws(header: Json, payload: Json, key: Uint8Array | string = ACCESS_KEY, hash = 'sha256'): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac(hash, key).update(input).digest('base64url')}`;
}
function keyJws(header: Json, payload: Json, privateKey: KeyObject): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const algorithm = header.alg === 'ES256' ? 'sha256' : null;
  const signature = signWithKey(algorithm, Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}
function decodeSegment(token: string, index: number): Json {
  return JSON.parse(Buffer.from(token.split('.')[index] ?? '', 'base64url').toString('utf8')) as Json;
}

/** A claim set exactly like the service's, at `nowMs`; `undefined` in `overrides` removes a claim. */
function accessClaims(nowMs: number, overrides: Json = {}): Json {
  const iat = Math.floor(nowMs / 1000);
  const claims: Json = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-1',
    sid: 'session-1',
    jti: 'forged-jti-0001',
    iat,
    iat_ms: nowMs,
    exp: iat + TTL,
    ...overrides,
  };
  return Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== undefined));
}
const accessHeader = (overrides: Json = {}): Json => ({ alg: 'HS256', typ: 'at+jwt', kid: ACCESS_KID, ...overrides });

function setup(overrides: Partial<TokenServiceOptions> = {}) {
  const clock = createManualClock(START);
  const service = createTokenService({
    secret: SECRET,
    issuer: ISSUER,
    audience: AUDIENCE,
    ttlSeconds: TTL,
    clockToleranceSeconds: TOLERANCE,
    clock,
    ...overrides,
  });
  return { clock, service };
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

async function expectInvalid(promise: Promise<unknown>): Promise<void> {
  const error = await rejectionOf(promise);
  expect(error).toMatchObject(INVALID);
  // The cause is there for server logs (never sent to the client).
  expect((error as Error).cause).toBeDefined();
}

describe('construction', () => {
  // Issue 15 item 3: the config schema is the one check of the secret and the tolerance; the token service takes
  // only the values it checked, so an unchecked one is a type error here, not a second runtime check.
  it('takes only master secrets of at least 32 characters, as checked by the config schema (R32)', () => {
    expect(() => checkedSecret('x'.repeat(31))).toThrow(/at least 32 characters/);
    expect(() => setup({ secret: checkedSecret('x'.repeat(32)) })).not.toThrow();
    expect(() => parseConfig({ jwtSecret: SECRET, jwtPreviousSecrets: ['short'] })).toThrow(
      /previous secret must be at least 32 characters/,
    );
    // @ts-expect-error a plain string is not a checked `JwtSecret` (pnpm typecheck holds this line to it)
    void (() => setup({ secret: 'x'.repeat(32) }));
    // @ts-expect-error nor is a list of plain strings
    void (() => setup({ previousSecrets: ['short'] }));
  });

  it('takes only a clock tolerance of 0–60 s, as checked by the config schema (R34), and refuses a non-positive TTL', () => {
    expect(() => checkedTolerance(61)).toThrow(/at most 60 seconds \(R34\)/);
    expect(checkedTolerance(60)).toBe(60);
    // @ts-expect-error a plain number is not a checked `ClockToleranceSeconds`
    void (() => setup({ clockToleranceSeconds: 61 }));
    expect(() => setup({ ttlSeconds: 0 })).toThrow(/TTL/);
  });

  it('refuses EdDSA/ES256 without a matching private key', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = String(privateKey.export({ type: 'pkcs8', format: 'pem' }));
    expect(() => setup({ algorithm: 'EdDSA' })).toThrow(/private key/);
    expect(() => setup({ algorithm: 'ES256', privateKey: pem })).toThrow(/P-256/);
    expect(() => setup({ algorithm: 'EdDSA', privateKey: 'not a pem' })).toThrow(/not a valid PEM/);
  });
});

describe('HS256 issue and verify', () => {
  it('round-trips with the documented header and claims', async () => {
    const { service } = setup();
    const issued = await service.issueAccessToken({ userId: 'user-1', sessionId: 'session-1' });
    const header = decodeSegment(issued.token, 0);
    const payload = decodeSegment(issued.token, 1);
    expect(header).toEqual({ alg: 'HS256', typ: 'at+jwt', kid: ACCESS_KID });
    const iat = Math.floor(START / 1000);
    expect(payload).toEqual({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'user-1',
      sid: 'session-1',
      jti: issued.jti,
      iat,
      iat_ms: START,
      exp: iat + TTL,
    });
    expect(issued.jti).toMatch(/^[A-Za-z0-9_-]{22}$/); // 16 random bytes = 128 bits
    expect(issued.expiresIn).toBe(TTL);
    expect(issued.expiresAt).toEqual(new Date((iat + TTL) * 1000));

    await expect(service.verifyAccessToken(issued.token)).resolves.toEqual({
      userId: 'user-1',
      sessionId: 'session-1',
      jti: issued.jti,
      issuedAt: new Date(START),
      expiresAt: new Date((iat + TTL) * 1000),
      actorId: null,
    });
  });

  it('an impersonation token carries act.sub and a shorter lifetime; a malformed act is refused (issue 17)', async () => {
    const { service } = setup();
    const issued = await service.issueAccessToken({
      userId: 'user-1',
      sessionId: 'session-1',
      actorId: 'admin-1',
      ttlSeconds: 900,
    });
    expect(decodeSegment(issued.token, 1)).toMatchObject({ act: { sub: 'admin-1' } });
    expect(issued.expiresIn).toBe(900);
    await expect(service.verifyAccessToken(issued.token)).resolves.toMatchObject({ actorId: 'admin-1' });
    // Never longer than the configured lifetime, whatever is asked.
    const capped = await service.issueAccessToken({ userId: 'u', sessionId: 's', actorId: 'a', ttlSeconds: TTL * 2 });
    expect(capped.expiresIn).toBe(TTL);
    // Signed with the right key but with an `act` regstack never writes: refused like any bad claim.
    for (const act of ['admin-1', { sub: 'admin-1', extra: true }, { sub: '' }, [], null]) {
      const token = hmacJws(accessHeader(), { ...accessClaims(START), act } as Json);
      await expect(service.verifyAccessToken(token), JSON.stringify(act)).rejects.toMatchObject(INVALID);
    }
  });

  it('signs with the HKDF-derived key: a hand-made token with that key verifies (control for the attacks)', async () => {
    const { service } = setup();
    const token = hmacJws(accessHeader(), accessClaims(START));
    await expect(service.verifyAccessToken(token)).resolves.toMatchObject({ userId: 'user-1', jti: 'forged-jti-0001' });
    const issued = await service.issueAccessToken({ userId: 'user-1', sessionId: 'session-1' });
    const input = issued.token.split('.').slice(0, 2).join('.');
    expect(issued.token.split('.')[2]).toBe(createHmac('sha256', ACCESS_KEY).update(input).digest('base64url'));
  });

  it('signs HMAC tokens with exactly the bytes jose would (HS256/384/512, access and MFA-pending)', async () => {
    for (const [algorithm, bytes] of [
      ['HS256', 32],
      ['HS384', 48],
      ['HS512', 64],
    ] as const) {
      const { service } = setup({ algorithm });
      const issued = await service.issueAccessToken({ userId: 'user-é', sessionId: 'session-1' });
      const mfa = await service.issueMfaPendingToken({ userId: 'user-1', challengeId: 'c-1', ttlSeconds: 60 });
      for (const [token, info] of [
        [issued.token, INFO_ACCESS],
        [mfa.token, INFO_MFA],
      ] as const) {
        const header = decodeSegment(token, 0);
        const byJose = await new SignJWT(decodeSegment(token, 1))
          .setProtectedHeader(header as { alg: string })
          .sign(derive(SECRET, info, bytes));
        expect(token).toBe(byJose);
        expect(header.alg).toBe(algorithm);
      }
    }
  });

  it('gives millisecond issue times, so two tokens of one second are ordered (R40)', async () => {
    const { clock, service } = setup();
    const first = await service.issueAccessToken({ userId: 'u', sessionId: 's' });
    clock.advance(400);
    const second = await service.issueAccessToken({ userId: 'u', sessionId: 's' });
    expect(decodeSegment(first.token, 1).iat).toBe(decodeSegment(second.token, 1).iat);
    const a = await service.verifyAccessToken(first.token);
    const b = await service.verifyAccessToken(second.token);
    expect(b.issuedAt.getTime() - a.issuedAt.getTime()).toBe(400);
  });

  it('gives every token its own jti', async () => {
    const { service } = setup();
    const jtis = new Set<string>();
    for (let i = 0; i < 200; i++) jtis.add((await service.issueAccessToken({ userId: 'u', sessionId: 's' })).jti);
    expect(jtis.size).toBe(200);
  });

  it('accepts a token until exp + tolerance and refuses it after (manual clock)', async () => {
    const { clock, service } = setup();
    const { token } = await service.issueAccessToken({ userId: 'u', sessionId: 's' });
    clock.advance((TTL + TOLERANCE - 1) * 1000);
    await expect(service.verifyAccessToken(token)).resolves.toMatchObject({ userId: 'u' });
    clock.advance(2000);
    await expectInvalid(service.verifyAccessToken(token));
  });
});

describe('remembered verifications', () => {
  // verifyAccessToken remembers tokens that verified, by their exact string, and then re-checks only time.
  const outcome = (p: Promise<unknown>): Promise<string> =>
    p.then(
      () => 'valid',
      (e: { code?: string }) => String(e.code),
    );

  it('a remembered token is refused at exactly the instants a fresh verification refuses it (R34)', async () => {
    const { clock, service } = setup();
    const { token } = await service.issueAccessToken({ userId: 'u', sessionId: 's' });
    await service.verifyAccessToken(token); // remembered from here on
    const offsetsMs = [
      -(TOLERANCE + 1) * 1000, // issued "in the future" once the clock is moved back past the tolerance
      -TOLERANCE * 1000,
      0,
      (TTL + TOLERANCE - 1) * 1000 + 999,
      (TTL + TOLERANCE) * 1000 - 1,
      (TTL + TOLERANCE) * 1000,
      (TTL + TOLERANCE) * 1000 + 1,
    ];
    const seen: string[] = [];
    for (const offset of offsetsMs) {
      clock.set(START + offset);
      // A second service with the same keys has never seen the token: jose decides alone.
      const fresh = setup();
      fresh.clock.set(clock.now());
      const expected = await outcome(fresh.service.verifyAccessToken(token));
      expect(await outcome(service.verifyAccessToken(token)), `at ${offset} ms`).toBe(expected);
      // And again, now that the instant's answer may itself have been remembered.
      expect(await outcome(service.verifyAccessToken(token)), `again at ${offset} ms`).toBe(expected);
      seen.push(expected);
    }
    expect(seen).toContain('valid');
    expect(seen).toContain('UNAUTHENTICATED');
  });

  it('never lets a changed token ride on a remembered one', async () => {
    const { service } = setup();
    const { token } = await service.issueAccessToken({ userId: 'u', sessionId: 's' });
    await service.verifyAccessToken(token);
    const [h, p, sig] = token.split('.') as [string, string, string];
    const flipped = `${sig.slice(0, -2)}${sig.at(-2) === 'A' ? 'B' : 'A'}${sig.at(-1)}`;
    await expectInvalid(service.verifyAccessToken(`${h}.${p}.${flipped}`));
    await expectInvalid(service.verifyAccessToken(`${h}.${p}`));
    await expectInvalid(service.verifyAccessToken(`${token} `));
    await expect(service.verifyAccessToken(token)).resolves.toMatchObject({ userId: 'u', sessionId: 's' });
  });

  it('stays bounded and correct past its capacity: forgotten tokens are simply verified again', async () => {
    const { service } = setup();
    const tokens: string[] = [];
    for (let i = 0; i < 10_050; i++) {
      tokens.push((await service.issueAccessToken({ userId: `u${i}`, sessionId: 's' })).token);
    }
    for (const token of tokens) await service.verifyAccessToken(token);
    await expect(service.verifyAccessToken(tokens[0]!)).resolves.toMatchObject({ userId: 'u0' });
    await expect(service.verifyAccessToken(tokens.at(-1)!)).resolves.toMatchObject({ userId: 'u10049' });
  }, 30_000);
});

describe('every attack gets the same UNAUTHENTICATED error (R31–R35)', () => {
  const now = START;
  const claims = accessClaims(now);
  const valid = () => hmacJws(accessHeader(), claims);
  const withoutSignature = (header: Json, payload: Json) => `${b64(header)}.${b64(payload)}`;
  const attackerSecret = randomBytes(32);

  const cases: [string, () => string | Promise<string>][] = [
    // R31 — algorithms
    ['alg none, empty signature', () => `${withoutSignature(accessHeader({ alg: 'none' }), claims)}.`],
    ['alg none, some signature', () => `${withoutSignature(accessHeader({ alg: 'none' }), claims)}.AAAA`],
    ['alg NoNe', () => `${withoutSignature(accessHeader({ alg: 'NoNe' }), claims)}.AAAA`],
    ['alg NONE without kid', () => `${withoutSignature({ alg: 'NONE', typ: 'at+jwt' }, claims)}.`],
    ['alg hs256 (wrong case)', () => hmacJws(accessHeader({ alg: 'hs256' }), claims)],
    [
      'HS384 with the key regstack would derive for HS384',
      () => {
        const key = derive(SECRET, INFO_ACCESS, 48);
        return hmacJws(accessHeader({ alg: 'HS384', kid: kidOf(key) }), claims, key, 'sha384');
      },
    ],
    [
      'HS512 with the key regstack would derive for HS512',
      () => {
        const key = derive(SECRET, INFO_ACCESS, 64);
        return hmacJws(accessHeader({ alg: 'HS512', kid: kidOf(key) }), claims, key, 'sha512');
      },
    ],
    ['HS384 with the HS256 key and kid', () => hmacJws(accessHeader({ alg: 'HS384' }), claims, ACCESS_KEY, 'sha384')],
    ['ES256 header with an HMAC signature', () => hmacJws(accessHeader({ alg: 'ES256' }), claims, ACCESS_KEY)],
    [
      'EdDSA token with an attacker key',
      () => {
        const { privateKey } = generateKeyPairSync('ed25519');
        return keyJws(accessHeader({ alg: 'EdDSA' }), claims, privateKey);
      },
    ],
    // R32 — key source
    [
      'signed with a different secret (its own kid)',
      () =>
        hmacJws(
          accessHeader({ kid: kidOf(derive(OTHER_SECRET, INFO_ACCESS)) }),
          claims,
          derive(OTHER_SECRET, INFO_ACCESS),
        ),
    ],
    [
      'signed with a different secret (our kid)',
      () => hmacJws(accessHeader(), claims, derive(OTHER_SECRET, INFO_ACCESS)),
    ],
    ['signed with the raw master secret, not the derived key', () => hmacJws(accessHeader(), claims, SECRET)],
    [
      'header jwk carrying the attacker key',
      () =>
        hmacJws(accessHeader({ jwk: { kty: 'oct', k: attackerSecret.toString('base64url') } }), claims, attackerSecret),
    ],
    [
      'header jku pointing elsewhere',
      () => hmacJws(accessHeader({ jku: 'https://evil.test/jwks.json' }), claims, attackerSecret),
    ],
    [
      'header x5u pointing elsewhere',
      () => hmacJws(accessHeader({ x5u: 'https://evil.test/cert.pem' }), claims, attackerSecret),
    ],
    ['header x5c', () => hmacJws(accessHeader({ x5c: ['MIIBIjANBg=='] }), claims, attackerSecret)],
    [
      'jwk header on an otherwise valid token (strict header allowlist)',
      () => hmacJws(accessHeader({ jwk: { kty: 'oct', k: 'AA' } }), claims),
    ],
    ['crit + b64:false', () => hmacJws(accessHeader({ crit: ['b64'], b64: false }), claims)],
    ['kid with path traversal', () => hmacJws(accessHeader({ kid: '../../../../etc/passwd' }), claims)],
    ['kid very long', () => hmacJws(accessHeader({ kid: 'a'.repeat(4000) }), claims)],
    ['kid missing', () => hmacJws({ alg: 'HS256', typ: 'at+jwt' }, claims)],
    ['kid in upper case', () => hmacJws(accessHeader({ kid: ACCESS_KID.toUpperCase() }), claims)],
    ['kid a number', () => hmacJws(accessHeader({ kid: 12345 }), claims)],
    ['kid of a key that is not configured', () => hmacJws(accessHeader({ kid: '0123456789abcdef' }), claims)],
    // R33 — kinds, claims, typ
    [
      'MFA-pending key and typ, presented as an access token',
      () => hmacJws({ alg: 'HS256', typ: 'regstack-mfa-pending+jwt', kid: MFA_KID }, claims, MFA_KEY),
    ],
    [
      'MFA-pending key with the access typ (key separation alone)',
      () => hmacJws(accessHeader({ kid: MFA_KID }), claims, MFA_KEY),
    ],
    [
      'access key with the MFA typ (typ check alone)',
      () => hmacJws(accessHeader({ typ: 'regstack-mfa-pending+jwt' }), claims),
    ],
    ['typ JWT', () => hmacJws(accessHeader({ typ: 'JWT' }), claims)],
    ['typ missing', () => hmacJws({ alg: 'HS256', kid: ACCESS_KID }, claims)],
    ['missing exp', () => hmacJws(accessHeader(), accessClaims(now, { exp: undefined }))],
    ['missing sid', () => hmacJws(accessHeader(), accessClaims(now, { sid: undefined }))],
    ['missing jti', () => hmacJws(accessHeader(), accessClaims(now, { jti: undefined }))],
    ['missing sub', () => hmacJws(accessHeader(), accessClaims(now, { sub: undefined }))],
    ['missing iat', () => hmacJws(accessHeader(), accessClaims(now, { iat: undefined }))],
    ['missing iat_ms', () => hmacJws(accessHeader(), accessClaims(now, { iat_ms: undefined }))],
    ['iat_ms disagreeing with iat', () => hmacJws(accessHeader(), accessClaims(now, { iat_ms: now - 3_600_000 }))],
    ['sub not a string', () => hmacJws(accessHeader(), accessClaims(now, { sub: 42 }))],
    ['sid an object', () => hmacJws(accessHeader(), accessClaims(now, { sid: { $ne: null } }))],
    ['empty sub', () => hmacJws(accessHeader(), accessClaims(now, { sub: '' }))],
    ['wrong iss', () => hmacJws(accessHeader(), accessClaims(now, { iss: 'https://evil.test' }))],
    ['missing iss', () => hmacJws(accessHeader(), accessClaims(now, { iss: undefined }))],
    ['wrong aud', () => hmacJws(accessHeader(), accessClaims(now, { aud: 'other-app' }))],
    ['aud list without ours', () => hmacJws(accessHeader(), accessClaims(now, { aud: ['a', 'b'] }))],
    // R34 — time
    ['expired', () => hmacJws(accessHeader(), accessClaims(now - (TTL + TOLERANCE + 1) * 1000))],
    [
      'nbf in the future',
      () => hmacJws(accessHeader(), accessClaims(now, { nbf: Math.floor(now / 1000) + TOLERANCE + 60 })),
    ],
    [
      'iat in the future beyond tolerance',
      () => {
        const later = now + 3_600_000;
        return hmacJws(accessHeader(), accessClaims(later));
      },
    ],
    [
      'exp far in the future but iat older than the TTL (maxTokenAge)',
      () => {
        const old = now - (TTL + TOLERANCE + 10) * 1000;
        return hmacJws(accessHeader(), accessClaims(old, { exp: Math.floor(now / 1000) + 86_400 }));
      },
    ],
    ['exp a string', () => hmacJws(accessHeader(), accessClaims(now, { exp: '9999999999' }))],
    // R35 — shape and size
    ['a 9 KB token correctly signed', () => hmacJws(accessHeader(), { ...claims, pad: 'p'.repeat(9 * 1024) })],
    [
      'a 5-segment JWE (dir/A256GCM)',
      () => `${b64({ alg: 'dir', enc: 'A256GCM', kid: ACCESS_KID })}..${b64('iv')}.${b64('ct')}.${b64('tag')}`,
    ],
    ['a 5-segment string of non-empty parts', () => 'aaaa.bbbb.cccc.dddd.eeee'],
    [
      'JWS JSON serialization',
      () => {
        const [protectedHeader, payload, signature] = valid().split('.');
        return JSON.stringify({ protected: protectedHeader, payload, signature });
      },
    ],
    [
      'payload tampered after signing',
      () => {
        const [h, , s] = valid().split('.');
        return `${h}.${b64(accessClaims(now, { sub: 'admin' }))}.${s}`;
      },
    ],
    ['signature stripped', () => `${valid().split('.').slice(0, 2).join('.')}.`],
    ['signature flipped', () => `${valid().slice(0, -2)}${valid().endsWith('AA') ? 'BB' : 'AA'}`],
    ['base64 padding', () => `${valid()}==`],
    ['surrounding whitespace', () => ` ${valid()} `],
    ['Bearer prefix left on', () => `Bearer ${valid()}`],
    ['empty string', () => ''],
    ['one dot-free word', () => 'garbage'],
    ['three dots', () => '...'],
    ['a.b.c', () => 'a.b.c'],
    ['header not JSON', () => `${b64('not json')}.${b64(claims)}.AAAA`],
    ['header a JSON array', () => hmacJws([] as unknown as Json, claims)],
    ['payload not JSON', () => `${b64(accessHeader())}.${b64('{{{')}.AAAA`],
    ['non-ASCII', () => `${valid()}é`],
    ['random bytes', () => randomBytes(64).toString('latin1')],
  ];

  it.each(cases)('%s', async (_name, makeToken) => {
    const { service } = setup();
    await expect(service.verifyAccessToken(valid())).resolves.toBeDefined();
    await expectInvalid(service.verifyAccessToken(await makeToken()));
  });

  it('rejects non-string input the same way', async () => {
    const { service } = setup();
    for (const input of [null, undefined, 42, {}, ['a.b.c']]) {
      await expectInvalid(service.verifyAccessToken(input as unknown as string));
    }
  });

  it('rejects an access token presented as an MFA-pending token, and vice versa (R50)', async () => {
    const { service } = setup();
    const access = await service.issueAccessToken({ userId: 'u', sessionId: 's' });
    const pending = await service.issueMfaPendingToken({ userId: 'u', challengeId: 'c', ttlSeconds: 300 });
    await expectInvalid(service.verifyMfaPendingToken(access.token));
    await expectInvalid(service.verifyAccessToken(pending.token));
    // And a token made with the access key and the MFA typ and claims is still not an MFA-pending token.
    const iat = Math.floor(START / 1000);
    const forged = hmacJws(
      { alg: 'HS256', typ: 'regstack-mfa-pending+jwt', kid: ACCESS_KID },
      { iss: ISSUER, aud: AUDIENCE, sub: 'u', cid: 'c', jti: 'j', iat, exp: iat + 300 },
      ACCESS_KEY,
    );
    await expectInvalid(service.verifyMfaPendingToken(forged));
  });

  it('gives the same error for a different-secret service token', async () => {
    const other = setup({ secret: OTHER_SECRET }).service;
    const { token } = await other.issueAccessToken({ userId: 'u', sessionId: 's' });
    await expectInvalid(setup().service.verifyAccessToken(token));
  });
});

describe('MFA-pending tokens (R50)', () => {
  it('round-trips with its own typ and kid, and expires after its TTL', async () => {
    const { clock, service } = setup();
    const { token, expiresAt } = await service.issueMfaPendingToken({
      userId: 'user-1',
      challengeId: 'challenge-1',
      ttlSeconds: 300,
    });
    expect(decodeSegment(token, 0)).toEqual({ alg: 'HS256', typ: 'regstack-mfa-pending+jwt', kid: MFA_KID });
    expect(expiresAt).toEqual(new Date((Math.floor(START / 1000) + 300) * 1000));
    await expect(service.verifyMfaPendingToken(token)).resolves.toEqual({
      userId: 'user-1',
      challengeId: 'challenge-1',
    });
    clock.advance((300 + TOLERANCE + 1) * 1000);
    await expectInvalid(service.verifyMfaPendingToken(token));
  });

  it('refuses to issue one for longer than 10 minutes (R48)', async () => {
    const { service } = setup();
    await expect(service.issueMfaPendingToken({ userId: 'u', challengeId: 'c', ttlSeconds: 601 })).rejects.toThrow(
      RangeError,
    );
  });

  it('refuses a hand-made MFA token with an exp beyond the 10-minute cap', async () => {
    const { service } = setup();
    const iat = Math.floor((START - 700_000) / 1000);
    const token = hmacJws(
      { alg: 'HS256', typ: 'regstack-mfa-pending+jwt', kid: MFA_KID },
      { iss: ISSUER, aud: AUDIENCE, sub: 'u', cid: 'c', jti: 'j', iat, exp: iat + 3600 },
      MFA_KEY,
    );
    await expectInvalid(service.verifyMfaPendingToken(token));
  });
});

describe('rotation', () => {
  it('accepts a token of a previous secret while it is listed, and not once it is removed', async () => {
    const old = setup({ secret: OLD_SECRET }).service;
    const oldAccess = await old.issueAccessToken({ userId: 'u', sessionId: 's' });
    const oldPending = await old.issueMfaPendingToken({ userId: 'u', challengeId: 'c', ttlSeconds: 300 });

    const rotated = setup({ previousSecrets: [OLD_SECRET] }).service;
    await expect(rotated.verifyAccessToken(oldAccess.token)).resolves.toMatchObject({ userId: 'u' });
    await expect(rotated.verifyMfaPendingToken(oldPending.token)).resolves.toMatchObject({ challengeId: 'c' });
    const fresh = await rotated.issueAccessToken({ userId: 'u', sessionId: 's' });
    expect(decodeSegment(fresh.token, 0).kid).toBe(ACCESS_KID); // signs with the current secret only

    const dropped = setup().service;
    await expectInvalid(dropped.verifyAccessToken(oldAccess.token));
    await expectInvalid(dropped.verifyMfaPendingToken(oldPending.token));
  });
});

function pemPair(type: 'ed25519' | 'ec') {
  const { privateKey } =
    type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, pem: String(privateKey.export({ type: 'pkcs8', format: 'pem' })) };
}

describe.each([
  ['EdDSA', 'ed25519', { kty: 'OKP', crv: 'Ed25519' }],
  ['ES256', 'ec', { kty: 'EC', crv: 'P-256' }],
] as const)('%s mode', (algorithm: AccessTokenAlgorithm, keyType, jwkShape) => {
  it('round-trips, and jwks() publishes only the public key, usable by a third party', async () => {
    const { pem } = pemPair(keyType);
    const { service } = setup({ algorithm, privateKey: pem });
    const { token } = await service.issueAccessToken({ userId: 'user-1', sessionId: 'session-1' });
    await expect(service.verifyAccessToken(token)).resolves.toMatchObject({ userId: 'user-1', sessionId: 'session-1' });

    const { keys } = await service.jwks();
    expect(keys).toHaveLength(1);
    const jwk = keys[0]!;
    expect(jwk).toMatchObject({ ...jwkShape, alg: algorithm, use: 'sig', kid: decodeSegment(token, 0).kid });
    expect(Object.keys(jwk).sort()).toEqual(
      (keyType === 'ec'
        ? ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']
        : ['alg', 'crv', 'kid', 'kty', 'use', 'x']
      ).sort(),
    );
    expect(jwk).not.toHaveProperty('d');

    // Another service verifies with the published key alone.
    const publicKey = createPublicKey({ key: jwk as unknown as import('node:crypto').JsonWebKey, format: 'jwk' });
    const [h, p, s] = token.split('.');
    const ok = verifyWithKey(
      algorithm === 'ES256' ? 'sha256' : null,
      Buffer.from(`${h}.${p}`),
      { key: publicKey, dsaEncoding: 'ieee-p1363' },
      Buffer.from(s!, 'base64url'),
    );
    expect(ok).toBe(true);
  });

  it('refuses HMAC tokens (algorithm confusion with the public key), none, and attacker keys', async () => {
    const { privateKey, pem } = pemPair(keyType);
    const { service } = setup({ algorithm, privateKey: pem });
    const { token } = await service.issueAccessToken({ userId: 'u', sessionId: 's' });
    const kid = decodeSegment(token, 0).kid;
    const claims = accessClaims(START);
    const publicPem = String(createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }));
    const attacker = pemPair(keyType).privateKey;
    const attackerJwk = createPublicKey(attacker).export({ format: 'jwk' });

    const attacks = [
      hmacJws({ alg: 'HS256', typ: 'at+jwt', kid }, claims, publicPem),
      hmacJws({ alg: 'HS256', typ: 'at+jwt', kid: ACCESS_KID }, claims, ACCESS_KEY),
      `${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64(claims)}.`,
      keyJws({ alg: algorithm, typ: 'at+jwt', kid }, claims, attacker),
      keyJws({ alg: algorithm, typ: 'at+jwt', kid, jwk: attackerJwk }, claims, attacker),
      keyJws(
        {
          alg: algorithm,
          typ: 'at+jwt',
          kid: kidOf(createPublicKey(attacker).export({ type: 'spki', format: 'der' })),
          jwk: attackerJwk,
        },
        claims,
        attacker,
      ),
    ];
    for (const attack of attacks) await expectInvalid(service.verifyAccessToken(attack));
    // The real key with the same hand-made claims verifies: the attacks fail for the attack, not the harness.
    await expect(
      service.verifyAccessToken(keyJws({ alg: algorithm, typ: 'at+jwt', kid }, claims, privateKey)),
    ).resolves.toMatchObject({
      userId: 'user-1',
    });
  });

  it('keeps MFA-pending tokens on an HMAC key of their own, never verifiable as access tokens', async () => {
    const { pem } = pemPair(keyType);
    const { service } = setup({ algorithm, privateKey: pem });
    const { token } = await service.issueMfaPendingToken({ userId: 'u', challengeId: 'c', ttlSeconds: 60 });
    expect(decodeSegment(token, 0)).toMatchObject({ alg: 'HS256', kid: MFA_KID });
    await expect(service.verifyMfaPendingToken(token)).resolves.toEqual({ userId: 'u', challengeId: 'c' });
    await expectInvalid(service.verifyAccessToken(token));
  });

  it('rotates keys: a previous key verifies and is published while listed', async () => {
    const old = pemPair(keyType);
    const current = pemPair(keyType);
    const oldToken = (
      await setup({ algorithm, privateKey: old.pem }).service.issueAccessToken({ userId: 'u', sessionId: 's' })
    ).token;
    const rotated = setup({ algorithm, privateKey: current.pem, previousKeys: [old.pem] }).service;
    await expect(rotated.verifyAccessToken(oldToken)).resolves.toMatchObject({ userId: 'u' });
    const { keys } = await rotated.jwks();
    expect(keys.map((k) => k.kid)).toEqual([
      kidOf(createPublicKey(current.privateKey).export({ type: 'spki', format: 'der' })),
      decodeSegment(oldToken, 0).kid,
    ]);
    for (const key of keys) expect(key).not.toHaveProperty('d');
    await expectInvalid(setup({ algorithm, privateKey: current.pem }).service.verifyAccessToken(oldToken));
  });
});

describe('jwks in HMAC mode', () => {
  it('publishes nothing', async () => {
    await expect(setup().service.jwks()).resolves.toEqual({ keys: [] });
  });
});

describe('throughput (measured, not asserted)', () => {
  it('verifies 2000 HS256 tokens', async () => {
    const { service } = setup();
    const tokens: string[] = [];
    for (let i = 0; i < 2000; i++)
      tokens.push((await service.issueAccessToken({ userId: `u${i}`, sessionId: 's' })).token);
    await service.verifyAccessToken(tokens[0]!); // warm up

    let start = performance.now();
    for (const token of tokens) await service.verifyAccessToken(token);
    const sequential = 2000 / ((performance.now() - start) / 1000);

    start = performance.now();
    await Promise.all(tokens.map((token) => service.verifyAccessToken(token)));
    const concurrent = 2000 / ((performance.now() - start) / 1000);

    console.log(
      `[access-tokens] HS256 verify: ${Math.round(sequential)}/s one at a time, ${Math.round(concurrent)}/s 2000 concurrent`,
    );
    expect(tokens).toHaveLength(2000);
  });
});
