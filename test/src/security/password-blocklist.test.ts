// R5: common/breached passwords and context words are refused with a reason; every check is bounded
// (Kratos HackerOne #3866310). R1/R2 come first, from @regstack/shared; R4: any script or emoji is welcome.

import { createPasswordPolicyChecker } from '@regstack/server/internal';
import { beforeAll, describe, expect, it } from 'vitest';

const checker = createPasswordPolicyChecker({ appName: 'Acme Cloud' });
const codeOf = (password: string, email?: string) => checker.check(password, { email })?.code ?? null;

beforeAll(() => {
  // The list is loaded on first use; load it here so the timing test measures checks, not the load.
  checker.check('warm up the list please');
});

describe('length comes first (R1, R2)', () => {
  it('uses the shared length rules and messages', () => {
    expect(checker.check('short pw 11')).toEqual({
      code: 'PASSWORD_TOO_SHORT',
      message: 'Password must be at least 12 characters long',
    });
    expect(codeOf('x'.repeat(129))).toBe('PASSWORD_TOO_LONG');
    expect(codeOf('password')).toBe('PASSWORD_TOO_SHORT'); // too short is the reason given, not "common"
  });

  it('refuses a policy that breaks R1/R2 at construction', () => {
    expect(() => createPasswordPolicyChecker({ minLength: 6 })).toThrow(RangeError);
    expect(() => createPasswordPolicyChecker({ maxLength: 32 })).toThrow(RangeError);
  });
});

describe('common and breached passwords (R5)', () => {
  it('refuses listed passwords, case-insensitively and after NFKC, and says why', () => {
    for (const password of ['leavemealone', 'administrator', '1qaz2wsx3edc', 'LeaveMeAlone', 'FinalFantasy']) {
      const problem = checker.check(password);
      expect(problem?.code, password).toBe('PASSWORD_TOO_COMMON');
      expect(problem?.message).toMatch(/common or breached passwords/);
    }
    expect(codeOf('ｌｅａｖｅｍｅａｌｏｎｅ')).toBe('PASSWORD_TOO_COMMON'); // full-width letters, NFKC → ASCII
  });

  it('refuses short listed passwords when the policy allows short passwords', () => {
    const lenient = createPasswordPolicyChecker({ minLength: 8 });
    expect(lenient.check('password')?.code).toBe('PASSWORD_TOO_COMMON');
    expect(lenient.check('iloveyou')?.code).toBe('PASSWORD_TOO_COMMON');
    expect(lenient.check('trustno1')?.code).toBe('PASSWORD_TOO_COMMON');
  });

  it('refuses 12+ character passwords that are common ones padded with digits or symbols', () => {
    for (const password of ['password1234', 'qwertyuiop123', '123456789012', 'Password1234']) {
      expect(codeOf(password), password).toBe('PASSWORD_TOO_COMMON');
    }
    // Not on the list themselves: caught by the padding rule, with a message that says so.
    for (const password of [
      'password!2024#',
      '!!dragon2024!!',
      'iloveyou!!!!!!',
      'Sunshine#2024!',
      '2024!football',
      'dragon 2024!!!',
      'superman12345',
      'batman😀😀😀😀😀😀',
      '123456!!!!!!',
    ]) {
      const problem = checker.check(password);
      expect(problem?.code, password).toBe('PASSWORD_TOO_COMMON');
      expect(problem?.message, password).toMatch(/only digits or symbols added, or repeated/);
    }
  });

  it('refuses a common password repeated', () => {
    for (const password of ['qwertyqwerty', 'monkeymonkey', 'MonkeyMonkey1', 'abc123abc123abc123']) {
      expect(codeOf(password), password).toBe('PASSWORD_TOO_COMMON');
    }
  });

  it('accepts a common word inside a longer passphrase, and long random digits', () => {
    expect(codeOf('correct horse battery staple 42')).toBeNull();
    expect(codeOf('my dragon sleeps in the attic')).toBeNull();
    expect(codeOf('8302957164928375')).toBeNull();
    expect(codeOf('9f8e7d6c5b4a3928')).toBeNull();
  });
});

describe('context words (R5)', () => {
  const email = 'John.Smith+news@example.com';

  it('refuses a password containing the email local part or one of its words', () => {
    for (const password of ['john.smith-is-great', 'JohnSmith rules 2024', 'the smith family rocks']) {
      const problem = checker.check(password, { email });
      expect(problem?.code, password).toBe('PASSWORD_CONTAINS_PERSONAL_INFO');
      expect(problem?.message).toMatch(/email address/);
    }
  });

  it('ignores local parts shorter than four characters', () => {
    expect(codeOf('jo-jo-bananas-for-tea', 'jo@example.com')).toBeNull();
    expect(codeOf('jo-jo-bananas-for-tea', 'bob@example.com')).toBeNull();
    expect(codeOf('mister bobby bananas', 'bobby@example.com')).toBe('PASSWORD_CONTAINS_PERSONAL_INFO');
  });

  it('refuses a password containing the service name, any of its words, or "regstack"', () => {
    for (const password of [
      'i love acme cloud so much',
      'acmecloud-rocks!',
      'ACME lantern river',
      'my regstack pass!',
    ]) {
      const problem = checker.check(password);
      expect(problem?.code, password).toBe('PASSWORD_CONTAINS_PERSONAL_INFO');
      expect(problem?.message).toMatch(/name of this service/);
    }
    expect(createPasswordPolicyChecker().check('RegStack 4 ever and ever')?.code).toBe(
      'PASSWORD_CONTAINS_PERSONAL_INFO',
    );
  });

  it('accepts a strong passphrase with the context set', () => {
    expect(codeOf('correct horse battery staple 42', email)).toBeNull();
  });
});

describe('any script and emoji are welcome (R4)', () => {
  it('accepts emoji, CJK, Cyrillic and Arabic passwords', () => {
    for (const password of [
      '🔒🌈🦄 月光の下で踊る猫 ✨🎉',
      'Пароль надёжный сегодня',
      'كلمة مرور قوية جدا اليوم',
      '😀😺🐙🦊🐢🦉🐝🐞🦋🐌🐛🐜',
      '🦊'.repeat(128), // 128 code points, 512 bytes: exactly at both limits
    ]) {
      expect(codeOf(password, 'someone@example.com'), password).toBeNull();
    }
  });
});

describe('every check is bounded (R5, HackerOne #3866310)', () => {
  it('checks 128-code-point worst cases in milliseconds', () => {
    const worstCases = [
      `${'1'.repeat(64)}a${'2'.repeat(63)}`,
      `${'9'.repeat(63)}x${'!'.repeat(64)}`,
      '7'.repeat(128),
      `${'🦊'.repeat(127)}a`,
      `${'ab'.repeat(63)}!!`,
      `${'x7'.repeat(64)}`,
      `${'z'.repeat(120)}12345678`,
    ];
    const longEmail = `${'z'.repeat(200_000)}@example.com`;
    const start = performance.now();
    for (const password of worstCases) {
      expect([...password]).toHaveLength(128);
      checker.check(password, { email: longEmail });
    }
    const perCheck = (performance.now() - start) / worstCases.length;
    expect(perCheck).toBeLessThan(50); // measured ≈2 ms at worst on a 2-core machine
  });

  it('refuses megabyte input on length alone, fast', () => {
    const start = performance.now();
    expect(codeOf('a'.repeat(1_000_000), `${'b'.repeat(1_000_000)}@example.com`)).toBe('PASSWORD_TOO_LONG');
    expect(performance.now() - start).toBeLessThan(100);
  });
});
