// R1–R4: length in code points after NFKC, a byte cap before any KDF, no other transformation, no
// composition rules; and a login schema that does not leak the policy.
import {
  checkPasswordLength,
  countCodePoints,
  createPasswordInputSchema,
  createPasswordSchema,
  DEFAULT_PASSWORD_POLICY,
  normalizePassword,
  passwordInputSchema,
  passwordSchema,
  resolvePasswordPolicy,
} from '@regstack/shared';
import { describe, expect, it } from 'vitest';

const bytes = (text: string) => new TextEncoder().encode(text).length;

describe('countCodePoints', () => {
  it('counts code points, not UTF-16 units or bytes', () => {
    expect(countCodePoints('')).toBe(0);
    expect(countCodePoints('abc')).toBe(3);
    expect(countCodePoints('😀')).toBe(1);
    expect('😀'.length).toBe(2);
    expect(countCodePoints('日本語')).toBe(3);
    expect(countCodePoints('a😀b')).toBe(3);
  });
});

describe('normalizePassword (R3)', () => {
  it('applies NFKC and nothing else', () => {
    expect(normalizePassword('ｐａｓｓ')).toBe('pass');
    expect(normalizePassword('re\u0301sume\u0301')).toBe('r\u00e9sum\u00e9');
    expect(normalizePassword('  Two  Spaces  ')).toBe('  Two  Spaces  ');
    expect(normalizePassword('MiXeD')).toBe('MiXeD');
  });
});

describe('DEFAULT_PASSWORD_POLICY', () => {
  it('is 12–128 code points and 512 bytes, and frozen', () => {
    expect(DEFAULT_PASSWORD_POLICY).toEqual({ minLength: 12, maxLength: 128, maxBytes: 512 });
    expect(Object.isFrozen(DEFAULT_PASSWORD_POLICY)).toBe(true);
  });
});

describe('checkPasswordLength (R1, R2)', () => {
  it('counts an emoji as one character: 12 emoji pass, 11 do not (R1)', () => {
    expect(checkPasswordLength('😀'.repeat(12))).toBeNull();
    expect(checkPasswordLength('😀'.repeat(11))).toEqual({
      code: 'PASSWORD_TOO_SHORT',
      message: 'Password must be at least 12 characters long',
    });
  });

  it('counts after NFKC: 12 decomposed accents are 12 characters, not 24', () => {
    const decomposed = 'e\u0301'.repeat(12);
    expect(decomposed.length).toBe(24);
    expect(checkPasswordLength(decomposed)).toBeNull();
    // 11 decomposed accents are 22 code points as typed but 11 after NFKC: too short.
    expect(checkPasswordLength('e\u0301'.repeat(11))?.code).toBe('PASSWORD_TOO_SHORT');
    // ...and a ligature expands: "ﬃ" is one code point as typed, three after NFKC.
    expect(checkPasswordLength('ﬃ'.repeat(4))).toBeNull();
    expect(checkPasswordLength('ﬃ'.repeat(3))?.code).toBe('PASSWORD_TOO_SHORT');
  });

  it('accepts 128 code points and refuses 129 (R2)', () => {
    expect(checkPasswordLength('a'.repeat(128))).toBeNull();
    expect(checkPasswordLength('a'.repeat(129))).toEqual({
      code: 'PASSWORD_TOO_LONG',
      message: 'Password must be at most 128 characters long',
    });
  });

  it('accepts 64 characters, as R2 requires', () => {
    expect(checkPasswordLength('x'.repeat(64))).toBeNull();
    expect(checkPasswordLength('😀'.repeat(64))).toBeNull();
  });

  it('refuses a 600-byte password on bytes even though it has only 300 code points', () => {
    const password = 'é'.repeat(300);
    expect(bytes(password)).toBe(600);
    expect(checkPasswordLength(password)).toEqual({
      code: 'PASSWORD_TOO_LONG',
      message: 'Password must be at most 512 bytes long',
    });
  });

  it('applies the byte cap to the NFKC form too (a code point can expand 18-fold)', () => {
    // U+FDFA is one code point, 3 bytes, and NFKC turns it into 18 code points (33 bytes).
    const password = '\ufdfa'.repeat(16);
    expect(bytes(password)).toBe(48);
    expect(bytes(normalizePassword(password))).toBeGreaterThan(512);
    expect(checkPasswordLength(password)?.code).toBe('PASSWORD_TOO_LONG');
  });

  it('refuses a huge input without trouble', () => {
    expect(checkPasswordLength('a'.repeat(1_000_000))?.code).toBe('PASSWORD_TOO_LONG');
  });

  it('has no composition rules: spaces, emoji and any script are fine (R4)', () => {
    for (const password of [
      'correct horse battery staple',
      'aaaaaaaaaaaa',
      '            ',
      'пароль пароль',
      'كلمة المرور السرية',
      '🔐🔑🗝️🔒🔓🔏🔐🔑🗝️🔒🔓🔏',
      'パスワードパスワード12',
    ]) {
      expect(checkPasswordLength(password)).toBeNull();
    }
  });

  it('honours a custom policy', () => {
    const policy = resolvePasswordPolicy({ minLength: 15 });
    expect(checkPasswordLength('a'.repeat(14), policy)).toEqual({
      code: 'PASSWORD_TOO_SHORT',
      message: 'Password must be at least 15 characters long',
    });
    expect(checkPasswordLength('a'.repeat(15), policy)).toBeNull();
  });
});

describe('resolvePasswordPolicy', () => {
  it('fills in defaults', () => {
    expect(resolvePasswordPolicy()).toEqual(DEFAULT_PASSWORD_POLICY);
    expect(resolvePasswordPolicy({ minLength: 8 })).toEqual({ minLength: 8, maxLength: 128, maxBytes: 512 });
  });

  it('refuses a minimum below the floor of 8 (R1)', () => {
    expect(() => resolvePasswordPolicy({ minLength: 7 })).toThrow(RangeError);
    expect(() => resolvePasswordPolicy({ minLength: 7 })).toThrow(/minLength must be at least 8/);
    expect(() => createPasswordSchema({ minLength: 4 })).toThrow(RangeError);
  });

  it('refuses a maximum below 64 (R2)', () => {
    expect(() => resolvePasswordPolicy({ maxLength: 63 })).toThrow(/maxLength must be at least 64/);
  });

  it('refuses min > max', () => {
    expect(() => resolvePasswordPolicy({ minLength: 100, maxLength: 64 })).toThrow(/must not exceed maxLength/);
  });

  it('refuses byte caps that would break R2 or the body limit, and non-integers', () => {
    expect(() => resolvePasswordPolicy({ maxBytes: 255 })).toThrow(/maxBytes/);
    expect(() => resolvePasswordPolicy({ maxBytes: 100_000 })).toThrow(/maxBytes/);
    expect(() => resolvePasswordPolicy({ minLength: 12.5 })).toThrow(/positive integer/);
    expect(() => resolvePasswordPolicy({ maxLength: Number.NaN })).toThrow(/positive integer/);
  });
});

describe('createPasswordSchema (new passwords)', () => {
  it('attaches the stable code to the issue', () => {
    const short = passwordSchema.safeParse('short');
    expect(short.error?.issues).toEqual([
      expect.objectContaining({
        code: 'custom',
        message: 'Password must be at least 12 characters long',
        params: { regstackCode: 'PASSWORD_TOO_SHORT' },
      }),
    ]);
    const long = passwordSchema.safeParse('a'.repeat(129));
    expect(long.error?.issues[0]).toMatchObject({ params: { regstackCode: 'PASSWORD_TOO_LONG' } });
  });

  it('outputs the NFKC form and preserves spaces exactly (R3)', () => {
    expect(passwordSchema.parse('  ｆｕｌｌ ｗｉｄｔｈ  ')).toBe('  full width  ');
    expect(passwordSchema.parse(' leading and trailing ')).toBe(' leading and trailing ');
  });

  it('never echoes the rejected password in the issue (R62)', () => {
    const result = passwordSchema.safeParse('hunter2');
    expect(JSON.stringify(result.error?.issues)).not.toContain('hunter2');
  });

  it('refuses unpaired surrogates, which would hash like U+FFFD', () => {
    const result = passwordSchema.safeParse(`${'a'.repeat(12)}\ud800`);
    expect(result.error?.issues[0]).toMatchObject({
      message: 'Password contains an invalid character',
      params: { regstackCode: 'VALIDATION_FAILED' },
    });
  });

  it.for([
    ['a NoSQL operator', { $ne: null }],
    ['a number', 123456789012],
    ['an array', ['a'.repeat(12)]],
    ['null', null],
  ])('refuses %s where a string is expected (R56)', ([, value]) => {
    expect(passwordSchema.safeParse(value).error?.issues[0]).toMatchObject({
      code: 'invalid_type',
      message: 'Password must be a string',
    });
  });

  it('uses a custom policy', () => {
    const schema = createPasswordSchema({ minLength: 16 });
    expect(schema.safeParse('a'.repeat(15)).error?.issues[0]?.message).toBe(
      'Password must be at least 16 characters long',
    );
  });
});

describe('passwordInputSchema (current passwords: login, re-authentication)', () => {
  it('accepts a short password without revealing the policy', () => {
    expect(passwordInputSchema.parse('x')).toBe('x');
    expect(passwordInputSchema.parse('short')).toBe('short');
  });

  it('requires at least one character', () => {
    expect(passwordInputSchema.safeParse('').error?.issues[0]?.message).toBe('Password is required');
    expect(passwordInputSchema.safeParse(undefined).error?.issues[0]?.message).toBe('Password is required');
  });

  it('refuses more than 512 bytes before any hashing (R2)', () => {
    expect(passwordInputSchema.parse('a'.repeat(512))).toHaveLength(512);
    const result = passwordInputSchema.safeParse('a'.repeat(600));
    expect(result.error?.issues[0]).toMatchObject({
      message: 'Password must be at most 512 bytes long',
      params: { regstackCode: 'PASSWORD_TOO_LONG' },
    });
    expect(passwordInputSchema.safeParse('é'.repeat(300)).success).toBe(false);
  });

  it('normalizes exactly like the set-time schema, so what was set verifies (R3)', () => {
    const typed = 'Ｐａｓｓ ｗｏｒｄ １２３';
    expect(passwordInputSchema.parse(typed)).toBe(passwordSchema.parse(typed));
    expect(passwordInputSchema.parse(' padded ')).toBe(' padded ');
  });

  it('refuses non-strings (R56)', () => {
    expect(passwordInputSchema.safeParse({ $ne: null }).success).toBe(false);
    expect(passwordInputSchema.safeParse({ $gt: '' }).success).toBe(false);
  });

  it('follows a configured byte cap', () => {
    const schema = createPasswordInputSchema({ maxBytes: 1024, maxLength: 256 });
    expect(schema.safeParse('a'.repeat(600)).success).toBe(true);
    expect(schema.safeParse('a'.repeat(1025)).success).toBe(false);
  });
});
