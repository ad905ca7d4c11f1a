// R53–R55: canonicalize-then-validate, refuse what mailers misparse, bound every length. Each attack here is a
// real bypass in a peer library (cited) or a way to make two accounts out of one mailbox.
import {
  canonicalizeEmail,
  EMAIL_LOCAL_PART_MAX_BYTES,
  EMAIL_MAX_BYTES,
  type EmailRejectionReason,
  emailSchema,
} from '@regstack/shared';
import { describe, expect, it } from 'vitest';

function expectCanonical(raw: string, email: string) {
  expect(canonicalizeEmail(raw)).toEqual({ ok: true, email });
  expect(emailSchema.parse(raw)).toBe(email);
}

function expectRejected(raw: string, reason: EmailRejectionReason) {
  const result = canonicalizeEmail(raw);
  expect(result).toMatchObject({ ok: false, reason });
  return result.ok ? '' : result.message;
}

const bytes = (text: string) => new TextEncoder().encode(text).length;

describe('canonicalizeEmail: one mailbox, one canonical value (R53)', () => {
  it.for([
    ['ALICE@EXAMPLE.COM', 'alice@example.com'],
    ['Alice@Example.Com', 'alice@example.com'],
    ['ＡＬＩＣＥ@Example.COM', 'alice@example.com'],
    ['ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ', 'alice@example.com'],
    ['  alice@example.com\t\r\n', 'alice@example.com'],
    ['alice@example.com\u3000', 'alice@example.com'],
  ] as const)('%s → %s', ([raw, email]) => {
    expectCanonical(raw, email);
  });

  it('applies NFKC before anything else: composed and decomposed accents are one address', () => {
    const composed = 'r\u00e9my@example.com';
    const decomposed = 're\u0301my@example.com';
    expect(canonicalizeEmail(decomposed)).toEqual(canonicalizeEmail(composed));
    expect(canonicalizeEmail('RÉMY@example.com')).toEqual({ ok: true, email: composed });
  });

  it('turns a full-width ＠ into the one @ before counting (GHSA-7rqj-j65f-68wh)', () => {
    expectCanonical('alice＠example.com', 'alice@example.com');
    // ...and therefore a full-width one next to a real one is two @, not one.
    expect(expectRejected('alice＠evil.com@example.com', 'at_sign')).toBe('Email address must contain exactly one @');
  });

  it('keeps +tags and other atext characters', () => {
    expectCanonical('User+Tag@example.com', 'user+tag@example.com');
    expectCanonical("o'hara@example.ie", "o'hara@example.ie");
  });

  it('is idempotent', () => {
    for (const raw of ['ＡＬＩＣＥ@Example.COM', 'Émile@BÜCHER.de', 'x@xn--bcher-kva.de', 'a@ΑΣ.gr', 'İ@example.com']) {
      const first = canonicalizeEmail(raw);
      expect(first.ok).toBe(true);
      if (first.ok) expect(canonicalizeEmail(first.email)).toEqual(first);
    }
  });
});

describe('canonicalizeEmail: internationalised domains', () => {
  it('accepts an IDN and stores the Unicode form, lowercased', () => {
    expectCanonical('hans@bücher.de', 'hans@bücher.de');
    expectCanonical('HANS@BÜCHER.DE', 'hans@bücher.de');
    expectCanonical('用户@例子.广告', '用户@例子.广告');
  });

  it('stores a Punycode (A-label) spelling as the same Unicode domain', () => {
    expectCanonical('hans@xn--bcher-kva.de', 'hans@bücher.de');
    expectCanonical('hans@XN--BCHER-KVA.DE', 'hans@bücher.de');
  });

  it('treats the ideographic full stop as a dot', () => {
    expectCanonical('a@例子。广告', 'a@例子.广告');
  });

  it('refuses invalid Punycode and IDNA mappings beyond case', () => {
    expectRejected('a@xn--zz.com', 'domain_invalid');
    // UTS #46 maps ẞ to "ss": storing strasse.de would not be what the user typed.
    expectRejected('a@STRAẞE.de', 'domain_invalid');
  });
});

describe('canonicalizeEmail: addresses mailers misparse (R54)', () => {
  it('refuses a quoted local part hiding a second address (GHSA-5jpx-9hw9-2fx4)', () => {
    const message = expectRejected('"e@attacker.com"@victim.com', 'quoted_local_part');
    expect(message).toBe('Quoted local parts are not accepted');
    expectRejected('"john doe"@example.com', 'quoted_local_part');
  });

  it('refuses display names', () => {
    const message = expectRejected('Name <a@b.com>', 'display_name');
    expect(message).toBe('Enter only the email address, without a name or angle brackets');
    expectRejected('<a@b.com>', 'display_name');
  });

  it('refuses CR/LF header injection', () => {
    expect(expectRejected('a@b.com\r\nBcc: x@y.com', 'line_break')).toBe('Email address must not contain line breaks');
    expectRejected('a@b.com\nBcc: x@y.com', 'line_break');
    expectRejected('a\u2028b@example.com', 'line_break');
  });

  it('refuses comments', () => {
    expectRejected('a(comment)@example.com', 'comment');
    expectRejected('a@example.com(comment)', 'comment');
  });

  it('refuses more than one @, or none (CVE-2022-35924)', () => {
    expect(expectRejected('a@@b.com', 'at_sign')).toBe('Email address must contain exactly one @');
    expectRejected('a@b.com@c.com', 'at_sign');
    expectRejected('ab.com', 'at_sign');
  });

  it.for([
    'a,b@example.com',
    'a;b@example.com',
    'a:b@example.com',
    'a\\b@example.com',
    'a[b@example.com',
    'a<b@example.com',
  ])('refuses the special in %s and names it', (raw) => {
    const message = expectRejected(raw, 'forbidden_character');
    expect(message).toBe(`Email address must not contain "${raw[1]}"`);
  });

  it('refuses several comma-separated recipients', () => {
    expectRejected('a@b.com,c@d.com', 'at_sign');
  });
});

describe('canonicalizeEmail: invisible and look-alike characters (R53)', () => {
  it.for([
    ['zero-width space', '\u200b'],
    ['zero-width non-joiner', '\u200c'],
    ['zero-width joiner', '\u200d'],
    ['left-to-right mark', '\u200e'],
    ['right-to-left override', '\u202e'],
    ['left-to-right embedding', '\u202a'],
    ['word joiner', '\u2060'],
    ['invisible separator', '\u2063'],
    ['right-to-left isolate', '\u2067'],
    ['pop directional isolate', '\u2069'],
    ['byte order mark', '\ufeff'],
    ['soft hyphen', '\u00ad'],
    ['Hangul filler', '\u3164'],
    ['variation selector', '\ufe0f'],
  ])('refuses a %s', ([, char]) => {
    expectRejected(`ali${char}ce@example.com`, 'invisible_character');
    expectRejected(`alice@exam${char}ple.com`, 'invisible_character');
  });

  it('names the problem in the message', () => {
    expect(expectRejected('ali\u200dce@example.com', 'invisible_character')).toBe(
      'Email address must not contain invisible or text-direction characters',
    );
  });

  it.for(['\u0000', '\u0007', '\u001b', '\u007f', '\u0080', '\u009b'])('refuses control character U+%s', (char) => {
    expectRejected(`a${char}b@example.com`, 'control_character');
  });

  it('refuses unpaired surrogates, private-use and unassigned code points', () => {
    expectRejected('a\ud800b@example.com', 'invalid_character');
    expectRejected('a\ue000b@example.com', 'invalid_character');
    expectRejected('a\u{10ffff}b@example.com', 'invalid_character');
  });

  it('refuses whitespace inside the address, including Unicode spaces', () => {
    expect(expectRejected('ali ce@example.com', 'whitespace')).toBe('Email address must not contain spaces');
    expectRejected('alice@exa\u00a0mple.com', 'whitespace');
    expectRejected('alice\u2003@example.com', 'whitespace');
    // A tab is a control character first, and reported as one.
    expectRejected('alice\t@example.com', 'control_character');
  });
});

describe('canonicalizeEmail: length limits (R55)', () => {
  const domainOf = (length: number) => {
    // Labels of 63 characters separated by dots, ending in ".com", exactly `length` characters long.
    let rest = length - 4;
    const labels: string[] = [];
    while (rest > 0) {
      const size = Math.min(63, rest);
      labels.push('d'.repeat(size));
      rest -= size + 1;
    }
    const domain = `${labels.join('.')}.com`;
    return domain.length === length ? domain : `e${domain}`;
  };

  it('accepts a local part of exactly 64 octets and refuses 65', () => {
    expectCanonical(`${'a'.repeat(64)}@example.com`, `${'a'.repeat(64)}@example.com`);
    const message = expectRejected(`${'a'.repeat(65)}@example.com`, 'local_part_too_long');
    expect(message).toBe(`The part before the @ is longer than ${EMAIL_LOCAL_PART_MAX_BYTES} bytes`);
  });

  it('counts octets, not characters: 22 three-byte characters fit, 22 plus one ASCII byte does not', () => {
    const local = '中'.repeat(21); // 63 octets
    expect(canonicalizeEmail(`${local}a@example.com`).ok).toBe(true);
    expectRejected(`${local}ab@example.com`, 'local_part_too_long');
  });

  it('accepts an address of exactly 254 octets and refuses 255', () => {
    const ok = `${'a'.repeat(64)}@${domainOf(254 - 65)}`;
    expect(bytes(ok)).toBe(EMAIL_MAX_BYTES);
    expect(canonicalizeEmail(ok)).toEqual({ ok: true, email: ok });
    const tooLong = `${'a'.repeat(64)}@${domainOf(255 - 65)}`;
    expect(bytes(tooLong)).toBe(255);
    expect(expectRejected(tooLong, 'too_long')).toBe('Email address is longer than 254 bytes');
  });

  it('refuses oversized input before normalizing it', () => {
    expectRejected(`${'a'.repeat(100_000)}@example.com`, 'too_long');
  });

  it('refuses a domain label longer than 63 characters', () => {
    expectRejected(`a@${'x'.repeat(64)}.com`, 'domain_label_too_long');
  });

  it('refuses an empty address', () => {
    expect(expectRejected('', 'empty')).toBe('Email address is required');
    expectRejected('   ', 'empty');
  });
});

describe('canonicalizeEmail: local part and domain structure', () => {
  it.for(['.alice@example.com', 'alice.@example.com', 'al..ice@example.com'])('refuses dots in %s', (raw) => {
    expectRejected(raw, 'local_part_dots');
  });

  it('refuses an empty local part or domain', () => {
    expectRejected('@example.com', 'local_part_empty');
    expectRejected('alice@', 'domain_missing');
  });

  it('refuses a domain without a dot', () => {
    expect(expectRejected('a@b', 'domain_no_dot')).toBe('The domain must contain a dot, as in example.com');
    expectRejected('a@localhost', 'domain_no_dot');
  });

  it.for(['a@example..com', 'a@.example.com', 'a@example.com.'])('refuses empty labels in %s', (raw) => {
    expectRejected(raw, 'domain_dots');
  });

  it.for(['a@[127.0.0.1]', 'a@[IPv6:::1]', 'a@127.0.0.1', 'a@192.168.1.1'])('refuses the IP literal %s', (raw) => {
    expect(expectRejected(raw, 'ip_literal')).toBe('IP addresses are not accepted as an email domain');
  });

  it.for(['a@example.123', 'a@0x7f.1'])('refuses the numeric top-level domain in %s', (raw) => {
    expectRejected(raw, 'domain_numeric_tld');
  });

  it.for(['a@-example.com', 'a@example-.com', 'a@example.-com'])('refuses the hyphen in %s', (raw) => {
    expectRejected(raw, 'domain_hyphen');
  });

  it.for([
    ['a@exa_mple.com', '_'],
    ['a@ex%61mple.com', '%'],
    ['a@evil.com/x.example.com', '/'],
    ['a@evil.com?.example.com', '?'],
    ['a@evil.com#.example.com', '#'],
  ] as const)('refuses %s, whose domain a URL parser would rewrite', ([raw, char]) => {
    expect(expectRejected(raw, 'domain_invalid_character')).toBe(`The domain must not contain "${char}"`);
  });

  it('refuses reserved "??--" labels that are not Punycode', () => {
    expectRejected('a@ab--cd.com', 'domain_invalid');
  });
});

describe('emailSchema (R56)', () => {
  it.for([
    ['a NoSQL operator', { $ne: null }],
    ['a number', 42],
    ['an array', ['a@example.com']],
    ['null', null],
    ['a boolean', true],
  ])('refuses %s where a string is expected', ([, value]) => {
    const result = emailSchema.safeParse(value);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({ code: 'invalid_type', message: 'Email address must be a string' });
  });

  it('says a missing address is required', () => {
    expect(emailSchema.safeParse(undefined).error?.issues[0]?.message).toBe('Email address is required');
  });

  it('reports a refused address as one custom issue with its reason and code', () => {
    const result = emailSchema.safeParse('"e@attacker.com"@victim.com');
    expect(result.success).toBe(false);
    expect(result.error?.issues).toEqual([
      expect.objectContaining({
        code: 'custom',
        message: 'Quoted local parts are not accepted',
        params: { regstackCode: 'VALIDATION_FAILED', reason: 'quoted_local_part' },
      }),
    ]);
  });

  it('outputs the canonical form', () => {
    expect(emailSchema.parse(' ＡＬＩＣＥ@Example.COM ')).toBe('alice@example.com');
  });
});
