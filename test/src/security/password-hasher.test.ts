import { availableParallelism } from 'node:os';
import { RegstackError } from '@regstack/server';
import { createPasswordHasher, DEFAULT_ARGON2_PARAMETERS, defaultHashConcurrency } from '@regstack/server/internal';
// R6 (argon2id at OWASP parameters, 128-bit salt, constant-time verify, rehash below policy), R7 (bounded
// concurrency, bounded queue, shedding with SERVER_BUSY + retryAfterSeconds), R10 (dummy verify with the same
// parameters), R3 (verify exactly what was given: normalization is the caller's job).
import { normalizePassword } from '@regstack/shared';
import { describe, expect, it } from 'vitest';

/** Small parameters so the tests that are not about cost run fast; refused without the flag (see below). */
const fastOptions = { memoryKib: 1024, iterations: 1, unsafeAllowWeakParametersForTests: true } as const;

/** The canonical libargon2 layout: `$argon2id$v=19$m=…,t=…,p=…$salt$hash`, unpadded base64. */
const PHC = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

function parsePhc(phc: string) {
  const match = PHC.exec(phc);
  if (!match) throw new Error(`not a canonical argon2id PHC string: ${phc}`);
  const [, m, t, p, salt, hash] = match as unknown as [string, string, string, string, string, string];
  return {
    m: Number(m),
    t: Number(t),
    p: Number(p),
    saltBytes: Buffer.from(salt, 'base64').length,
    hashBytes: Buffer.from(hash, 'base64').length,
  };
}

// Made with the reference implementation's CLI (Debian's `argon2` package, libargon2):
//   echo -n 'correct horse battery staple' | argon2 'regstack-salt-16' -id -t 2 -k 19456 -p 1 -l 32 -e
//   … -t 3 -k 65536 -p 4 (the argon2-cffi / Python regstack default parameters)
const REFERENCE_PASSWORD = 'correct horse battery staple';
const REFERENCE_OWASP =
  '$argon2id$v=19$m=19456,t=2,p=1$cmVnc3RhY2stc2FsdC0xNg$fJCrNa2w8rqvp67tBzDT2DIYg5TkP92FVktxuNr4AlU';
const REFERENCE_PYTHON_DEFAULTS =
  '$argon2id$v=19$m=65536,t=3,p=4$cmVnc3RhY2stc2FsdC0xNg$I6F+2DhuZqKa4bHf7Xd2BzhC7jnLMomhv4o+eZ/W148';

describe('hash and verify with the real default parameters (R6)', () => {
  const hasher = createPasswordHasher();

  it('writes argon2id m=19456, t=2, p=1 with a 16-byte salt and a 32-byte tag, and verifies it', async () => {
    expect(DEFAULT_ARGON2_PARAMETERS).toEqual({ memoryKib: 19_456, iterations: 2, parallelism: 1 });
    const phc = await hasher.hash('correct horse battery staple 42');
    expect(parsePhc(phc)).toEqual({ m: 19_456, t: 2, p: 1, saltBytes: 16, hashBytes: 32 });
    expect(await hasher.verify(phc, 'correct horse battery staple 42')).toBe(true);
    expect(await hasher.verify(phc, 'correct horse battery staple 43')).toBe(false);
    expect(hasher.needsRehash(phc)).toBe(false);
  });

  it('verifies hashes written by the reference implementation, including stronger parameters', async () => {
    expect(await hasher.verify(REFERENCE_OWASP, REFERENCE_PASSWORD)).toBe(true);
    expect(await hasher.verify(REFERENCE_PYTHON_DEFAULTS, REFERENCE_PASSWORD)).toBe(true);
    expect(await hasher.verify(REFERENCE_OWASP, 'correct horse battery stapler')).toBe(false);
  });
});

describe('hash and verify (fast parameters)', () => {
  const hasher = createPasswordHasher(fastOptions);

  it('uses a fresh salt: two hashes of one password differ and both verify', async () => {
    const [a, b] = await Promise.all([hasher.hash('same password!'), hasher.hash('same password!')]);
    expect(a).not.toBe(b);
    expect(parsePhc(a).saltBytes).toBe(16);
    expect(parsePhc(a).saltBytes).toBe(parsePhc(b).saltBytes);
    expect(await hasher.verify(a, 'same password!')).toBe(true);
    expect(await hasher.verify(b, 'same password!')).toBe(true);
  });

  it('verifies exactly what was given: no trimming, no case folding (R3)', async () => {
    const phc = await hasher.hash('pw');
    expect(await hasher.verify(phc, 'pw')).toBe(true);
    expect(await hasher.verify(phc, 'pw ')).toBe(false);
    expect(await hasher.verify(phc, ' pw')).toBe(false);
    expect(await hasher.verify(phc, 'PW')).toBe(false);
    expect(await hasher.verify(phc, 'Pw')).toBe(false);
    expect(await hasher.verify(phc, '')).toBe(false);
  });

  it('does not normalize: NFKC equivalents match only when the caller normalizes both sides (R3)', async () => {
    const fullWidth = 'ｐａｓｓｗｏｒｄ２０２４';
    const ascii = 'password2024';
    const raw = await hasher.hash(fullWidth);
    expect(await hasher.verify(raw, ascii)).toBe(false);
    // The services pass the output of the shared password schemas, which is `normalizePassword(input)`.
    const normalized = await hasher.hash(normalizePassword(fullWidth));
    expect(await hasher.verify(normalized, normalizePassword(ascii))).toBe(true);
    const composed = await hasher.hash(normalizePassword('r\u00e9sum\u00e9 of mine'));
    expect(await hasher.verify(composed, normalizePassword('re\u0301sume\u0301 of mine'))).toBe(true);
  });

  it('hashes and verifies any Unicode, including emoji and non-Latin scripts (R4)', async () => {
    const password = '🔒🌈 月光の下で踊る猫 Пароль';
    const phc = await hasher.hash(password);
    expect(await hasher.verify(phc, password)).toBe(true);
    expect(await hasher.verify(phc, '🔒🌈 月光の下で踊る猫 пароль')).toBe(false);
  });

  it('accepts parameters in any order (node-argon2 itself writes m,p,t)', async () => {
    const phc = await hasher.hash('order does not matter');
    const reordered = phc.replace('m=1024,t=1,p=1', 'm=1024,p=1,t=1');
    expect(reordered).not.toBe(phc);
    expect(await hasher.verify(reordered, 'order does not matter')).toBe(true);
  });

  it('returns false, never throws, for malformed or foreign hashes', async () => {
    const good = await hasher.hash('a password');
    const [head] = good.split('$').slice(-2);
    const malformed = [
      '',
      'not a hash',
      '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW', // bcrypt
      'pbkdf2_sha256$600000$salt$hash',
      good.slice(0, -10), // truncated tag
      good.slice(0, good.lastIndexOf('$')), // no tag
      `${good}$extra`,
      good.replace('$argon2id$', '$argon3$'),
      good.replace('v=19', 'v=20'),
      good.replace('m=1024', 'm=0'),
      good.replace('m=1024', 'm=abc'),
      good.replace('t=1', 't=0'),
      good.replace(',p=1', ''),
      good.replace('m=1024,t=1,p=1', 'm=1024,t=1,p=1,data=abcd'),
      good.replace('m=1024', 'm=4294967295'), // cost ceiling: a planted row cannot make a login allocate 4 TiB
      good.replace(`$${head}$`, '$a$'), // 1-char base64 salt
      good.replace(`$${head}$`, '$@@@@$'),
      `$argon2id$v=19$m=19456,t=2,p=1$${'A'.repeat(10_000)}$${'B'.repeat(43)}`,
      'x'.repeat(1_000_000),
    ];
    for (const phc of malformed) {
      await expect(hasher.verify(phc, 'a password'), phc.slice(0, 80)).resolves.toBe(false);
    }
    expect(await hasher.verify(good, 'a password')).toBe(true);
  });
});

describe('needsRehash (R6)', () => {
  const hasher = createPasswordHasher();
  const salt = 'cmVnc3RhY2stc2FsdC0xNg';
  const tag = 'fJCrNa2w8rqvp67tBzDT2DIYg5TkP92FVktxuNr4AlU';

  it('is false for hashes at or above the current policy', () => {
    expect(hasher.needsRehash(REFERENCE_OWASP)).toBe(false);
    expect(hasher.needsRehash(REFERENCE_PYTHON_DEFAULTS)).toBe(false);
    expect(hasher.needsRehash(`$argon2id$v=19$m=19456,p=1,t=2$${salt}$${tag}`)).toBe(false);
  });

  it('is true for weaker memory or iterations, an older variant or version, or a short salt', () => {
    expect(hasher.needsRehash(`$argon2id$v=19$m=12288,t=2,p=1$${salt}$${tag}`)).toBe(true);
    expect(hasher.needsRehash(`$argon2id$v=19$m=19456,t=1,p=1$${salt}$${tag}`)).toBe(true);
    // An "equal strength" OWASP row with fewer iterations is still below *this* policy's t: rehash to it.
    expect(hasher.needsRehash(`$argon2id$v=19$m=47104,t=1,p=1$${salt}$${tag}`)).toBe(true);
    expect(hasher.needsRehash(`$argon2i$v=19$m=19456,t=2,p=1$${salt}$${tag}`)).toBe(true);
    expect(hasher.needsRehash(`$argon2d$v=19$m=19456,t=2,p=1$${salt}$${tag}`)).toBe(true);
    expect(hasher.needsRehash(`$argon2id$v=16$m=19456,t=2,p=1$${salt}$${tag}`)).toBe(true);
    expect(hasher.needsRehash(`$argon2id$m=19456,t=2,p=1$${salt}$${tag}`)).toBe(true);
    expect(hasher.needsRehash(`$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$${tag}`)).toBe(true); // 8-byte salt
  });

  it('is true for bcrypt-looking and malformed strings, without throwing', () => {
    expect(hasher.needsRehash('$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW')).toBe(true);
    expect(hasher.needsRehash('$2y$10$abcdefghijklmnopqrstuu')).toBe(true);
    expect(hasher.needsRehash('')).toBe(true);
    expect(hasher.needsRehash('garbage')).toBe(true);
  });

  it('flags hashes made by a weaker (test) hasher', async () => {
    const weak = await createPasswordHasher(fastOptions).hash('upgrade me please');
    expect(hasher.needsRehash(weak)).toBe(true);
  });
});

describe('verifyDummy (R10)', () => {
  it('always resolves false, even for the empty string', async () => {
    const hasher = createPasswordHasher(fastOptions);
    expect(await hasher.verifyDummy('correct horse battery staple')).toBe(false);
    expect(await hasher.verifyDummy('')).toBe(false);
  });

  it('takes about as long as a real verify with the default parameters', async () => {
    const hasher = createPasswordHasher();
    const phc = await hasher.hash('the real password');
    const time = async (run: () => Promise<unknown>) => {
      const start = performance.now();
      await run();
      return performance.now() - start;
    };
    // Warm both paths once (the first dummy call builds the dummy hash, without a KDF call).
    await hasher.verify(phc, 'wrong password');
    await hasher.verifyDummy('wrong password');
    const real: number[] = [];
    const dummy: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      real.push(await time(() => hasher.verify(phc, `wrong password ${i}`)));
      dummy.push(await time(() => hasher.verifyDummy(`wrong password ${i}`)));
    }
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    const ratio = mean(dummy) / mean(real);
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });
});

describe('bounded concurrency and shedding (R7)', () => {
  it('runs at most `concurrency` at once, queues up to `queueLimit`, and sheds the rest with SERVER_BUSY', async () => {
    const hasher = createPasswordHasher({ ...fastOptions, concurrency: 1, queueLimit: 2, retryAfterSeconds: 7 });
    const calls = Array.from({ length: 10 }, (_, i) => hasher.hash(`password number ${i}`));
    expect(hasher.stats).toEqual({ active: 1, queued: 2, shed: 7 });
    const results = await Promise.allSettled(calls);
    const accepted = results.filter((r) => r.status === 'fulfilled');
    const shed = results.filter((r) => r.status === 'rejected');
    expect(accepted).toHaveLength(3);
    expect(shed).toHaveLength(7);
    for (const [i, result] of results.entries()) {
      if (result.status === 'fulfilled') {
        expect(await hasher.verify(result.value, `password number ${i}`)).toBe(true);
      } else {
        expect(RegstackError.is(result.reason)).toBe(true);
        expect(result.reason).toMatchObject({ code: 'SERVER_BUSY', retryAfterSeconds: 7 });
      }
    }
    expect(hasher.stats).toEqual({ active: 0, queued: 0, shed: 7 });
  });

  it('serves the queue first in, first out, and verify and verifyDummy take slots too', async () => {
    const hasher = createPasswordHasher({ ...fastOptions, concurrency: 1, queueLimit: 3 });
    const phc = await hasher.hash('queued password');
    const order: string[] = [];
    const calls = [
      hasher.hash('first in line').then(() => order.push('hash')),
      hasher.verify(phc, 'queued password').then(() => order.push('verify')),
      hasher.verifyDummy('queued password').then(() => order.push('dummy')),
      hasher.hash('last in line').then(() => order.push('hash 2')),
    ];
    const shedVerify = hasher.verify(phc, 'queued password');
    const shedDummy = hasher.verifyDummy('queued password');
    await expect(shedVerify).rejects.toMatchObject({ code: 'SERVER_BUSY', retryAfterSeconds: 1 });
    await expect(shedDummy).rejects.toMatchObject({ code: 'SERVER_BUSY' });
    await Promise.all(calls);
    expect(order).toEqual(['hash', 'verify', 'dummy', 'hash 2']);
    expect(hasher.stats).toEqual({ active: 0, queued: 0, shed: 2 });
  });

  it('with queueLimit 0, sheds whatever finds every slot taken', async () => {
    const hasher = createPasswordHasher({ ...fastOptions, concurrency: 2, queueLimit: 0 });
    const results = await Promise.allSettled([1, 2, 3, 4].map((i) => hasher.hash(`pw ${i}`)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected']);
  });

  it('defaults concurrency to the cores + 1, within a quarter of the memory and 64', () => {
    const GiB = 2 ** 30;
    const at = (cores: number, memoryBytes: number, memoryKib = 19_456) =>
      defaultHashConcurrency(memoryKib, { cores, memoryBytes });
    expect(at(2, 8 * GiB)).toBe(3); // the bench machine's shape
    expect(at(16, 64 * GiB)).toBe(17); // scales with the cores, whatever UV_THREADPOOL_SIZE says
    expect(at(96, 1024 * GiB)).toBe(64);
    // A container with 512 MiB: a quarter is 128 MiB, six hashes of 19 MiB, however many cores it is shown.
    expect(at(64, 512 * 2 ** 20)).toBe(6);
    expect(at(64, 512 * 2 ** 20, 65_536)).toBe(2); // bigger hashes, fewer at once
    expect(at(1, 32 * 2 ** 20)).toBe(1); // never below one
    // This process, as createRegstack sees it: cores + 1 here, unless its memory is tight.
    const here = defaultHashConcurrency();
    expect(here).toBeGreaterThanOrEqual(1);
    expect(here).toBeLessThanOrEqual(availableParallelism() + 1);
    expect(createPasswordHasher(fastOptions).concurrency).toBe(defaultHashConcurrency(fastOptions.memoryKib));
    expect(createPasswordHasher({ ...fastOptions, concurrency: 5 }).concurrency).toBe(5);
  });
});

describe('parameter floor (R6)', () => {
  it('refuses parameters below the weakest OWASP row without the test flag', () => {
    expect(() => createPasswordHasher({ memoryKib: 1024, iterations: 1 })).toThrow(RangeError);
    expect(() => createPasswordHasher({ memoryKib: 8192, iterations: 2 })).toThrow(/OWASP/);
    expect(() => createPasswordHasher({ memoryKib: 19_456, iterations: 1 })).toThrow(RangeError);
    expect(() => createPasswordHasher({ memoryKib: 4096, iterations: 10 })).toThrow(RangeError);
    expect(() => createPasswordHasher(fastOptions)).not.toThrow();
  });

  it('accepts every OWASP row', () => {
    for (const [memoryKib, iterations] of [
      [47_104, 1],
      [19_456, 2],
      [12_288, 3],
      [9216, 4],
      [7168, 5],
    ] as const) {
      expect(() => createPasswordHasher({ memoryKib, iterations })).not.toThrow();
    }
  });

  it('refuses nonsense settings even with the test flag', () => {
    expect(() => createPasswordHasher({ ...fastOptions, memoryKib: 4 })).toThrow(RangeError);
    expect(() => createPasswordHasher({ ...fastOptions, iterations: 0 })).toThrow(RangeError);
    expect(() => createPasswordHasher({ ...fastOptions, parallelism: 1.5 })).toThrow(RangeError);
    expect(() => createPasswordHasher({ ...fastOptions, concurrency: 0 })).toThrow(RangeError);
    expect(() => createPasswordHasher({ ...fastOptions, queueLimit: -1 })).toThrow(RangeError);
    expect(() => createPasswordHasher({ ...fastOptions, retryAfterSeconds: 0 })).toThrow(RangeError);
  });
});
