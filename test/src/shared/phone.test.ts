// R52: canonical E.164 only; formatting stripped, nothing else repaired. R62: masked numbers in logs.
import { canonicalizePhone, maskPhone, type PhoneRejectionReason, phoneNumberSchema } from '@regstack/shared';
import { describe, expect, it } from 'vitest';

function expectRejected(raw: string, reason: PhoneRejectionReason) {
  const result = canonicalizePhone(raw);
  expect(result).toMatchObject({ ok: false, reason });
  return result.ok ? '' : result.message;
}

describe('canonicalizePhone', () => {
  it.for([
    ['+44 20 7946 0958', '+442079460958'],
    ['+442079460958', '+442079460958'],
    ['+1 (415) 555-2671', '+14155552671'],
    ['+1.415.555.2671', '+14155552671'],
    ['+33 6 12 34 56 78', '+33612345678'],
  ] as const)('%s → %s', ([raw, phone]) => {
    expect(canonicalizePhone(raw)).toEqual({ ok: true, phone });
    expect(phoneNumberSchema.parse(raw)).toBe(phone);
  });

  it('folds a trunk 0 typed after the country code into the same number (one unique value, R66)', () => {
    expect(canonicalizePhone('+44 (0)20 7946 0958')).toEqual({ ok: true, phone: '+442079460958' });
    expect(canonicalizePhone('+44 020 7946 0958')).toEqual({ ok: true, phone: '+442079460958' });
  });

  it('refuses full-width digits instead of folding them', () => {
    const message = expectRejected('+４４ 20 7946 0958', 'non_ascii_digit');
    expect(message).toBe('Phone number must use the digits 0-9 only (no full-width or other-script digits)');
    expectRejected('＋44 20 7946 0958', 'invalid_character');
  });

  it('refuses Arabic-Indic and other-script digits', () => {
    expectRejected('+٤٤٢٠٧٩٤٦٠٩٥٨', 'non_ascii_digit');
    expectRejected('+۴۴۲۰۷۹۴۶۰۹۵۸', 'non_ascii_digit');
    expectRejected('+४४२०७९४६०९५८', 'non_ascii_digit');
  });

  it('refuses a country code starting with 0', () => {
    expect(expectRejected('+044 20 7946 0958', 'country_code_zero')).toBe(
      'Country codes never start with 0: replace the leading 0 with your country code',
    );
  });

  it('refuses more than 15 digits', () => {
    expect(expectRejected('+4420794609581234', 'too_many_digits')).toBe('Phone number must have at most 15 digits');
    expectRejected('+1234567890123456', 'too_many_digits');
  });

  it('refuses letters, vanity numbers and extensions', () => {
    expectRejected('+44 20 7946 O958', 'invalid_character');
    expectRejected('+1 800 FLOWERS', 'invalid_character');
    expectRejected('+44 20 7946 0958 ext 12', 'invalid_character');
  });

  it('refuses control and other invisible characters, and unusual spaces', () => {
    expectRejected('+44\u000020 7946 0958', 'invalid_character');
    expectRejected('+44\t20 7946 0958', 'invalid_character');
    expectRejected('+44\n2079460958', 'invalid_character');
    expectRejected('+44\u200b2079460958', 'invalid_character');
    expectRejected('+44\u00a020 7946 0958', 'invalid_character');
  });

  it('requires a leading + and exactly one', () => {
    expect(expectRejected('020 7946 0958', 'missing_plus')).toBe(
      'Phone number must start with + and the country code, as in +44 20 7946 0958',
    );
    expectRejected('442079460958', 'missing_plus');
    expectRejected('++442079460958', 'missing_plus');
    expectRejected('44+2079460958', 'missing_plus');
  });

  it('refuses too few digits, and the empty string', () => {
    expectRejected('+1', 'too_few_digits');
    expectRejected('+', 'too_few_digits');
    expect(expectRejected('', 'empty')).toBe('Phone number is required');
    expectRejected(' () - . ', 'empty');
  });

  it('refuses numbers no country issues (libphonenumber-js)', () => {
    expect(expectRejected('+999 123 456 789', 'not_a_valid_number')).toBe(
      'This is not a valid phone number for its country',
    );
    expectRejected('+44 20', 'not_a_valid_number');
  });

  it('refuses oversized input before parsing', () => {
    expectRejected(`+44${' '.repeat(1000)}2079460958`, 'too_long');
  });
});

describe('phoneNumberSchema', () => {
  it('reports the stable code and reason on the issue', () => {
    const result = phoneNumberSchema.safeParse('+٤٤٢٠٧٩٤٦٠٩٥٨');
    expect(result.error?.issues).toEqual([
      expect.objectContaining({
        code: 'custom',
        params: { regstackCode: 'PHONE_NUMBER_INVALID', reason: 'non_ascii_digit' },
      }),
    ]);
  });

  it.for([{ $ne: null }, 442079460958, ['+442079460958'], null])(
    'refuses %j where a string is expected (R56)',
    (value) => {
      expect(phoneNumberSchema.safeParse(value).error?.issues[0]).toMatchObject({
        code: 'invalid_type',
        message: 'Phone number must be a string',
      });
    },
  );
});

describe('maskPhone (R62)', () => {
  it('keeps the first three characters and the last two digits, one bullet per hidden digit', () => {
    expect(maskPhone('+442079460958')).toBe('+44••••••••58');
    expect(maskPhone('+14155552671')).toBe('+14•••••••71');
  });

  it('hides at least half of the digits of short numbers', () => {
    expect(maskPhone('+1234567')).toBe('+•••••67');
    expect(maskPhone('+1234')).toBe('+••34');
    expect(maskPhone('+12')).toBe('+••');
  });

  it('never echoes input that is not canonical E.164', () => {
    expect(maskPhone('+44 20 7946 0958')).toBe('+•••');
    expect(maskPhone('secret text')).toBe('+•••');
    expect(maskPhone('')).toBe('+•••');
  });
});
