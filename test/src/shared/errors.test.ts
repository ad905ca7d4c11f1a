// The error-code registry is API (SPEC §5, STYLE "Errors"): these tests pin its shape and the
// recognise-by-value reader that the client exposes as getRegstackErrorCode.
import {
  CLIENT_ERROR_CODES,
  getRegstackErrorCode,
  isRegstackErrorCode,
  REGSTACK_ERROR_CODES,
  type RegstackErrorData,
} from '@regstack/shared';
import { describe, expect, it } from 'vitest';

const codes = Object.keys(REGSTACK_ERROR_CODES);

describe('REGSTACK_ERROR_CODES', () => {
  it('holds every code the server and client rely on', () => {
    const required = [
      'VALIDATION_FAILED',
      'INVALID_CREDENTIALS',
      'TOO_MANY_ATTEMPTS',
      'RATE_LIMITED',
      'UNAUTHENTICATED',
      'FORBIDDEN',
      'INVALID_OR_EXPIRED_TOKEN',
      'EMAIL_NOT_VERIFIED',
      'REGISTRATION_DISABLED',
      'FEATURE_DISABLED',
      'PASSWORD_TOO_SHORT',
      'PASSWORD_TOO_LONG',
      'PASSWORD_TOO_COMMON',
      'PASSWORD_CONTAINS_PERSONAL_INFO',
      'EMAIL_UNCHANGED',
      'MFA_CODE_INVALID',
      'MFA_CODE_EXPIRED',
      'MFA_ATTEMPTS_EXCEEDED',
      'MFA_NOT_ENABLED',
      'MFA_ALREADY_ENABLED',
      'PHONE_NUMBER_INVALID',
      'SMS_DESTINATION_NOT_ALLOWED',
      'USER_NOT_FOUND',
      'SESSION_NOT_FOUND',
      'LAST_ACTIVE_ADMIN',
      'PAYLOAD_TOO_LARGE',
      'UNSUPPORTED_MEDIA_TYPE',
      'METHOD_NOT_ALLOWED',
      'CSRF_CHECK_FAILED',
      'SERVICE_UNAVAILABLE',
      'SERVER_BUSY',
      'CONTEXT_MISSING',
      'INTERNAL_ERROR',
      'NETWORK_ERROR',
    ];
    expect(codes).toEqual(expect.arrayContaining(required));
  });

  it('has unique, UPPER_SNAKE codes', () => {
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(/^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/);
  });

  it('describes every code in one non-empty line, each description distinct', () => {
    const descriptions = Object.values(REGSTACK_ERROR_CODES);
    for (const description of descriptions) {
      expect(description.trim().length).toBeGreaterThan(10);
      expect(description).not.toMatch(/[\r\n]/);
    }
    expect(new Set(descriptions).size).toBe(descriptions.length);
  });

  it('cannot be modified at runtime', () => {
    expect(Object.isFrozen(REGSTACK_ERROR_CODES)).toBe(true);
    expect(() => {
      (REGSTACK_ERROR_CODES as Record<string, string>).NEW_CODE = 'x';
    }).toThrow(TypeError);
  });
});

describe('CLIENT_ERROR_CODES (issue 16 item 3)', () => {
  it('are registered codes the server has no row for: it never sends them', async () => {
    const { TRPC_CODE_OF } = await import('@regstack/server');
    expect(CLIENT_ERROR_CODES).toEqual(['NETWORK_ERROR', 'OAUTH_RESULT_MISSING']);
    for (const code of CLIENT_ERROR_CODES) {
      expect(isRegstackErrorCode(code)).toBe(true);
      expect(Object.hasOwn(TRPC_CODE_OF, code)).toBe(false);
    }
    const server = codes.filter((code) => !(CLIENT_ERROR_CODES as readonly string[]).includes(code));
    expect(Object.keys(TRPC_CODE_OF).sort()).toEqual(server.sort());
  });

  it("read off the cause of tRPC's client error", () => {
    const cause = Object.assign(new Error('Could not reach'), { name: 'RegstackNetworkError', code: 'NETWORK_ERROR' });
    expect(getRegstackErrorCode({ message: 'Could not reach', cause })).toBe('NETWORK_ERROR');
  });
});

describe('isRegstackErrorCode', () => {
  it('accepts each registered code', () => {
    for (const code of codes) expect(isRegstackErrorCode(code)).toBe(true);
  });

  it.for([
    ['a tRPC code', 'BAD_REQUEST'],
    ['a lowercase spelling', 'forbidden'],
    ['an inherited property name', 'toString'],
    ['__proto__', '__proto__'],
    ['constructor', 'constructor'],
    ['the empty string', ''],
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['an object', { code: 'FORBIDDEN' }],
  ] as const)('rejects %s', ([, value]) => {
    expect(isRegstackErrorCode(value)).toBe(false);
  });
});

describe('getRegstackErrorCode', () => {
  it('reads data.regstackCode, as on a TRPCClientError', () => {
    const data: RegstackErrorData = { regstackCode: 'TOO_MANY_ATTEMPTS', retryAfterSeconds: 30 };
    const err = Object.assign(new Error('Too many attempts'), { data, shape: { data } });
    expect(getRegstackErrorCode(err)).toBe('TOO_MANY_ATTEMPTS');
  });

  it('reads shape.data.regstackCode when data is absent', () => {
    expect(getRegstackErrorCode({ shape: { data: { regstackCode: 'CSRF_CHECK_FAILED' } } })).toBe('CSRF_CHECK_FAILED');
  });

  it('reads code from a domain error of another package copy (by value, not instanceof)', () => {
    class ForeignRegstackError extends Error {
      readonly code = 'LAST_ACTIVE_ADMIN';
    }
    expect(getRegstackErrorCode(new ForeignRegstackError('nope'))).toBe('LAST_ACTIVE_ADMIN');
    expect(getRegstackErrorCode({ code: 'SERVER_BUSY' })).toBe('SERVER_BUSY');
  });

  it('reads the cause of a server-side TRPCError that wraps a regstack error', () => {
    const err = Object.assign(new Error('wrapped'), { code: 'TOO_MANY_REQUESTS', cause: { code: 'RATE_LIMITED' } });
    expect(getRegstackErrorCode(err)).toBe('RATE_LIMITED');
  });

  it('ignores tRPC codes and unknown values instead of passing them off as ours', () => {
    expect(getRegstackErrorCode({ code: 'BAD_REQUEST' })).toBeUndefined();
    expect(getRegstackErrorCode({ data: { regstackCode: 'NOT_A_CODE', code: 'BAD_REQUEST' } })).toBeUndefined();
    expect(getRegstackErrorCode({ data: { regstackCode: 'toString' } })).toBeUndefined();
  });

  it('prefers data.regstackCode over a stale code elsewhere', () => {
    expect(getRegstackErrorCode({ data: { regstackCode: 'FORBIDDEN' }, code: 'INTERNAL_ERROR' })).toBe('FORBIDDEN');
  });

  it.for([null, undefined, 'FORBIDDEN', 42, [], {}])('returns undefined for %j', (value) => {
    expect(getRegstackErrorCode(value)).toBeUndefined();
  });

  it('survives hostile objects whose getters throw', () => {
    const hostile = {
      get data(): never {
        throw new Error('boom');
      },
      code: 'UNAUTHENTICATED',
    };
    expect(getRegstackErrorCode(hostile)).toBe('UNAUTHENTICATED');
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    expect(getRegstackErrorCode(revoked.proxy)).toBeUndefined();
  });
});
