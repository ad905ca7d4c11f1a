/**
 * One-time link tokens (R22, R23) and SMS codes (R48): entropy and encoding, hashing at rest, and the OTP hasher's
 * binding to the server secret and to the challenge.
 */
import { createHash, createHmac, hkdfSync } from 'node:crypto';
import { createOtpHasher, generateOneTimeToken, generateOtpCode, hashOneTimeToken } from '@regstack/server/internal';
import { describe, expect, it } from 'vitest';
import { checkedSecret } from '../harness/validated-config.ts';

const SECRET = checkedSecret('test-master-secret-0123456789-abcdefghijklmnop');

describe('one-time link tokens (R22, R23)', () => {
  it('are 43 base64url characters (32 random bytes)', () => {
    const { token } = generateOneTimeToken();
    expect(token).toHaveLength(43);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
  });

  it('do not repeat over 1000 draws', () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => generateOneTimeToken().token));
    expect(tokens.size).toBe(1000);
  });

  it('come with their SHA-256 as 64 hex characters, deterministic and equal to hashOneTimeToken', () => {
    const { token, hash } = generateOneTimeToken();
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).toBe(hashOneTimeToken(token));
    expect(hashOneTimeToken(token)).toBe(hashOneTimeToken(token));
    expect(hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(hash).not.toContain(token);
  });

  it('hash distinct tokens to distinct values', () => {
    const a = generateOneTimeToken();
    const b = generateOneTimeToken();
    expect(a.hash).not.toBe(b.hash);
  });
});

describe('SMS codes (R48)', () => {
  it('are exactly six ASCII digits', () => {
    for (let i = 0; i < 200; i++) expect(generateOtpCode()).toMatch(/^[0-9]{6}$/);
  });

  it('use every digit in every position over 1000 codes (distribution sanity)', () => {
    const codes = Array.from({ length: 1000 }, generateOtpCode);
    const digits = new Set(codes.join(''));
    expect(digits.size).toBe(10);
    for (let position = 0; position < 6; position++) {
      expect(new Set(codes.map((code) => code[position])).size).toBe(10);
    }
    // Leading zeros are kept, not dropped: ~10% of codes start with 0.
    expect(codes.some((code) => code.startsWith('0'))).toBe(true);
  });
});

describe('OTP hasher', () => {
  const hasher = createOtpHasher(SECRET);

  it('gives 64 hex characters, deterministic for one (code, challenge)', () => {
    const hash = hasher.hashOtpCode('123456', 'challenge-1');
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hasher.hashOtpCode('123456', 'challenge-1')).toBe(hash);
    expect(createOtpHasher(SECRET).hashOtpCode('123456', 'challenge-1')).toBe(hash);
  });

  it('binds the code to its challenge: same code, other challenge, other hash', () => {
    expect(hasher.hashOtpCode('123456', 'challenge-1')).not.toBe(hasher.hashOtpCode('123456', 'challenge-2'));
    // No ambiguity between where the challenge id ends and the code begins.
    expect(hasher.hashOtpCode('123456', 'c1')).not.toBe(hasher.hashOtpCode('23456', 'c11'));
  });

  it('binds the hash to the server secret: not a plain hash of the digits, and another secret differs', () => {
    const hash = hasher.hashOtpCode('123456', 'challenge-1');
    expect(hash).not.toBe(createHash('sha256').update('123456').digest('hex'));
    expect(hash).not.toBe(createHash('sha256').update('challenge-1123456').digest('hex'));
    expect(
      createOtpHasher(checkedSecret('another-secret-0123456789-abcdefghijklmnop')).hashOtpCode('123456', 'challenge-1'),
    ).not.toBe(hash);
  });

  it('is HMAC-SHA256 under the HKDF-derived OTP key over ["challengeId","code"] (pins the documented recipe)', () => {
    const key = Buffer.from(hkdfSync('sha256', SECRET, 'regstack/v1/hkdf-salt', 'regstack/v1/otp-code', 32));
    const expected = createHmac('sha256', key)
      .update(JSON.stringify(['challenge-1', '123456']))
      .digest('hex');
    expect(hasher.hashOtpCode('123456', 'challenge-1')).toBe(expected);
  });

  it('verifies the right code for the right challenge only', () => {
    const stored = hasher.hashOtpCode('042042', 'challenge-1');
    expect(hasher.verifyOtpCode('042042', 'challenge-1', stored)).toBe(true);
    expect(hasher.verifyOtpCode('042043', 'challenge-1', stored)).toBe(false);
    expect(hasher.verifyOtpCode('042042', 'challenge-2', stored)).toBe(false);
    expect(hasher.verifyOtpCode('042042', 'challenge-1', 'not-hex')).toBe(false);
    expect(hasher.verifyOtpCode('042042', 'challenge-1', '')).toBe(false);
  });

  it('takes only a secret the config schema checked: a shorter one than 32 characters never reaches it (R32, issue 15 item 3)', () => {
    expect(() => checkedSecret('too-short')).toThrow(/at least 32 characters/);
    // @ts-expect-error a plain string is not a checked `JwtSecret` (pnpm typecheck holds this line to it)
    void (() => createOtpHasher('too-short'));
  });
});
