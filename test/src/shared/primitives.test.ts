// R55/R56: exact formats for tokens, codes and ids; bounded, clean display names; strings only.

import { randomBytes } from 'node:crypto';
import {
  FULL_NAME_MAX_LENGTH,
  fullNameSchema,
  idSchema,
  ONE_TIME_TOKEN_LENGTH,
  oneTimeTokenSchema,
  otpCodeSchema,
} from '@regstack/shared';
import { describe, expect, it } from 'vitest';

describe('oneTimeTokenSchema', () => {
  it('accepts 32 random bytes in base64url, whatever the bytes', () => {
    for (let i = 0; i < 200; i++) {
      const token = randomBytes(32).toString('base64url');
      expect(token).toHaveLength(ONE_TIME_TOKEN_LENGTH);
      expect(oneTimeTokenSchema.parse(token)).toBe(token);
    }
  });

  it('refuses one character too few or too many', () => {
    const token = randomBytes(32).toString('base64url');
    expect(oneTimeTokenSchema.safeParse(token.slice(1)).error?.issues[0]?.message).toBe('Token is malformed');
    expect(oneTimeTokenSchema.safeParse(`${token}A`).success).toBe(false);
  });

  it('refuses padding, standard base64 characters and whitespace', () => {
    const token = randomBytes(32).toString('base64url');
    expect(oneTimeTokenSchema.safeParse(`${token.slice(0, 42)}=`).success).toBe(false);
    expect(oneTimeTokenSchema.safeParse(`+${token.slice(1)}`).success).toBe(false);
    expect(oneTimeTokenSchema.safeParse(`/${token.slice(1)}`).success).toBe(false);
    expect(oneTimeTokenSchema.safeParse(` ${token.slice(1)}`).success).toBe(false);
  });

  it('refuses a non-canonical last character, so one token has exactly one spelling', () => {
    const canonical = Buffer.alloc(32).toString('base64url');
    expect(canonical.endsWith('A')).toBe(true);
    const alias = `${canonical.slice(0, 42)}B`;
    expect(Buffer.from(alias, 'base64url').equals(Buffer.alloc(32))).toBe(true);
    expect(oneTimeTokenSchema.safeParse(alias).success).toBe(false);
  });

  it('refuses non-strings (R56)', () => {
    expect(oneTimeTokenSchema.safeParse({ $ne: null }).error?.issues[0]?.message).toBe('Token must be a string');
    expect(oneTimeTokenSchema.safeParse(undefined).error?.issues[0]?.message).toBe('Token is required');
  });
});

describe('otpCodeSchema', () => {
  it('accepts exactly six ASCII digits', () => {
    expect(otpCodeSchema.parse('012345')).toBe('012345');
  });

  it.for(['12345', '1234567', '１２３４５６', '١٢٣٤٥٦', '123 456', ' 123456', '12345a', '', '12345\n'])(
    'refuses %j',
    (code) => {
      expect(otpCodeSchema.safeParse(code).error?.issues[0]?.message).toBe('Code must be exactly 6 digits');
    },
  );

  it('refuses numbers and operators (R56)', () => {
    expect(otpCodeSchema.safeParse(123456).success).toBe(false);
    expect(otpCodeSchema.safeParse({ $ne: null }).success).toBe(false);
  });
});

describe('fullNameSchema', () => {
  it('normalizes with NFKC and trims the ends only', () => {
    expect(fullNameSchema.parse('  Ｊａｎｅ  Doe  ')).toBe('Jane  Doe');
    expect(fullNameSchema.parse('Zoe\u0308')).toBe('Zoë');
  });

  it('accepts any script, and the joiners that scripts and emoji need', () => {
    expect(fullNameSchema.parse('محمد')).toBe('محمد');
    expect(fullNameSchema.parse('山田 太郎')).toBe('山田 太郎');
    expect(fullNameSchema.parse('می\u200cخواهم')).toBe('می\u200cخواهم');
    expect(fullNameSchema.parse('👩\u200d💻 Ada')).toBe('👩\u200d💻 Ada');
  });

  it('counts code points: 200 emoji pass, 201 do not', () => {
    expect(fullNameSchema.safeParse('😀'.repeat(FULL_NAME_MAX_LENGTH)).success).toBe(true);
    expect(fullNameSchema.safeParse('😀'.repeat(FULL_NAME_MAX_LENGTH + 1)).error?.issues[0]?.message).toBe(
      'Full name must be at most 200 characters long',
    );
    expect(fullNameSchema.safeParse('x'.repeat(100_000)).success).toBe(false);
  });

  it('refuses an empty or blank name', () => {
    expect(fullNameSchema.safeParse('').error?.issues[0]?.message).toBe('Full name must not be empty');
    expect(fullNameSchema.safeParse(' \t\u3000 ').error?.issues[0]?.message).toBe('Full name must not be empty');
  });

  it.for([
    ['a line break (email header injection)', 'Jane\r\nBcc: x@y.com'],
    ['a NUL', 'Jane\u0000Doe'],
    ['an escape sequence (terminal/log injection)', 'Jane\u001b[31mDoe'],
    ['a C1 control', 'Jane\u0085Doe'],
    ['a right-to-left override', 'Jane\u202eeoD'],
    ['a bidi isolate', 'Jane\u2066Doe'],
    ['an unpaired surrogate', 'Jane\ud800'],
  ])('refuses %s', ([, name]) => {
    const result = fullNameSchema.safeParse(name);
    expect(result.error?.issues[0]).toMatchObject({
      message: 'Full name must not contain line breaks, control characters or text-direction overrides',
      params: { regstackCode: 'VALIDATION_FAILED' },
    });
  });

  it('refuses non-strings (R56)', () => {
    expect(fullNameSchema.safeParse({ $ne: null }).error?.issues[0]?.message).toBe('Full name must be a string');
  });
});

describe('idSchema', () => {
  it.for(['a', 'usr_01HZX3K9Q', '550e8400-e29b-41d4-a716-446655440000', '507f1f77bcf86cd799439011', 'x'.repeat(64)])(
    'accepts %s',
    (id) => {
      expect(idSchema.parse(id)).toBe(id);
    },
  );

  it.for(['', 'x'.repeat(65), 'a b', 'a/b', '../etc', 'a.b', 'ａｂ', 'id\n', '{"$ne":null}'])('refuses %j', (id) => {
    expect(idSchema.safeParse(id).error?.issues[0]?.message).toBe(
      'Id must be 1-64 characters of letters, digits, "_" or "-"',
    );
  });

  it('refuses operators and numbers (R56)', () => {
    expect(idSchema.safeParse({ $ne: null }).error?.issues[0]?.message).toBe('Id must be a string');
    expect(idSchema.safeParse(42).success).toBe(false);
  });
});
