/**
 * parseConfig and the schema's rules: defaults, the security floors and ceilings from SECURITY.md (R1, R2, R6, R14,
 * R20, R25, R32, R34, R48, R49, R58), value normalisation, and the shape of ConfigError.
 */

import { ConfigError, configSchema, formatConfigIssues, parseConfig, type RegstackConfigInput } from '@regstack/server';
import { describe, expect, it } from 'vitest';
import { SECRET } from './fixtures.ts';

function issuesOf(input: RegstackConfigInput): ConfigError['issues'] {
  try {
    parseConfig(input);
  } catch (error) {
    if (ConfigError.is(error)) return error.issues;
    throw error;
  }
  throw new Error('expected parseConfig to throw');
}

function errorOf(input: RegstackConfigInput): ConfigError {
  try {
    parseConfig(input);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected parseConfig to throw');
}

describe('defaults', () => {
  it('applies the documented defaults, mirroring the Python regstack where SECURITY.md agrees', () => {
    const config = parseConfig({ jwtSecret: SECRET });
    expect(config).toMatchObject({
      appName: 'RegStack',
      baseUrl: 'http://localhost:8000',
      databaseUrl: 'sqlite:./regstack.db',
      jwtAlgorithm: 'HS256',
      jwtTtlSeconds: 7200,
      jwtIssuer: 'regstack',
      jwtAudience: 'regstack',
      jwtPreviousSecrets: [],
      verificationTokenTtlSeconds: 86_400,
      passwordResetTokenTtlSeconds: 1800,
      emailChangeTokenTtlSeconds: 3600,
      requireVerification: true,
      allowRegistration: true,
      enablePasswordReset: true,
      enableAccountDeletion: true,
      enableAdminRouter: false,
      enableUiRouter: false,
      enableSms2fa: false,
      passwordMinLength: 12,
      passwordMaxLength: 128,
      argon2MemoryKib: 19_456,
      argon2Iterations: 2,
      argon2Parallelism: 1,
      loginLockoutThreshold: 5,
      loginLockoutWindowSeconds: 900,
      trustedProxies: [],
      maxRequestBodyBytes: 16_384,
      apiPrefix: '/trpc',
      uiPrefix: '/account',
      staticPrefix: '/regstack-static',
      cookieName: '__Host-regstack_session',
      email: { backend: 'console', fromAddress: 'noreply@example.com', smtpPort: 587, smtpStarttls: true },
      sms: { backend: 'console', snsRegion: 'eu-west-1', allowedCountryCodes: [] },
    });
    expect(config.email.recipientRateLimit).toEqual([{ limit: 3, windowSeconds: 600 }]);
    expect(config.loginRateLimit).toEqual([
      { limit: 20, windowSeconds: 60 },
      { limit: 200, windowSeconds: 3600 },
    ]);
    // Left to the password hasher, which works it out from the cores, the memory and argon2_memory_kib.
    expect(config.hashConcurrency).toBeUndefined();
    expect(config.databasePoolSize).toBe(10);
    expect(() => parseConfig({ jwtSecret: SECRET, databasePoolSize: 0 })).toThrow(/database_pool_size/);
  });

  it('returns a deeply frozen object', () => {
    const config = parseConfig({ jwtSecret: SECRET });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.email)).toBe(true);
    expect(Object.isFrozen(config.trustedProxies)).toBe(true);
  });

  it('configSchema is usable directly and agrees with parseConfig', () => {
    expect(configSchema.parse({ jwtSecret: SECRET }).jwtTtlSeconds).toBe(7200);
  });
});

describe('the JWT secret (R32)', () => {
  it('is required, and the message says how to set one', () => {
    const issues = issuesOf({});
    expect(issues).toHaveLength(1);
    expect(issues[0]?.key).toBe('jwt_secret');
    expect(issues[0]?.message).toMatch(/^is required: set REGSTACK_JWT_SECRET/);
  });

  it('must be at least 32 characters, and a short one is never echoed', () => {
    const shortSecret = 'only-thirty-one-characters-long';
    const error = errorOf({ jwtSecret: shortSecret });
    expect(error.issues.map((issue) => issue.key)).toEqual(['jwt_secret']);
    expect(error.message).toContain('jwt_secret');
    expect(error.message).toContain('at least 32 characters');
    expect(error.message).not.toContain(shortSecret);
    expect(parseConfig({ jwtSecret: 'x'.repeat(32) }).jwtSecret).toHaveLength(32);
  });

  it('previous secrets for rotation obey the same floor', () => {
    const issues = issuesOf({ jwtSecret: SECRET, jwtPreviousSecrets: [SECRET, 'short'] });
    expect(issues.map((issue) => issue.key)).toEqual(['jwt_previous_secrets[1]']);
  });

  it('clock tolerance is at most 60 seconds (R34)', () => {
    expect(issuesOf({ jwtSecret: SECRET, jwtClockToleranceSeconds: 61 })[0]?.message).toContain('R34');
    expect(parseConfig({ jwtSecret: SECRET, jwtClockToleranceSeconds: 60 }).jwtClockToleranceSeconds).toBe(60);
  });

  it('an asymmetric algorithm needs a private key', () => {
    const issues = issuesOf({ jwtSecret: SECRET, jwtAlgorithm: 'EdDSA' });
    expect(issues).toEqual([
      expect.objectContaining({ key: 'jwt_private_key', message: 'is required when jwt_algorithm is "EdDSA"' }),
    ]);
  });
});

describe('login lockout ceiling (R14: never more than 100 failures per hour)', () => {
  it('rejects a threshold and window that allow more than 100 failures an hour, naming the key', () => {
    const issues = issuesOf({ jwtSecret: SECRET, loginLockoutThreshold: 10, loginLockoutWindowSeconds: 300 });
    expect(issues).toHaveLength(1);
    expect(issues[0]?.key).toBe('login_lockout_threshold');
    expect(issues[0]?.message).toContain('login_lockout_threshold = 10 with login_lockout_window_seconds = 300');
    expect(issues[0]?.message).toContain('120 failed logins per hour');
  });

  it('accepts settings exactly at the ceiling', () => {
    const config = parseConfig({ jwtSecret: SECRET, loginLockoutThreshold: 100, loginLockoutWindowSeconds: 3600 });
    expect(config.loginLockoutThreshold).toBe(100);
    expect(parseConfig({ jwtSecret: SECRET, loginLockoutThreshold: 25, loginLockoutWindowSeconds: 900 })).toBeTruthy();
  });

  it('counts a partial window as a whole one (⌈3600 / window⌉ windows fit in an hour)', () => {
    // 3600 / 1000 → 4 windows; 26 × 4 = 104 > 100.
    expect(issuesOf({ jwtSecret: SECRET, loginLockoutThreshold: 26, loginLockoutWindowSeconds: 1000 })).toHaveLength(1);
    expect(parseConfig({ jwtSecret: SECRET, loginLockoutThreshold: 25, loginLockoutWindowSeconds: 1000 })).toBeTruthy();
  });
});

describe('passwords and hashing (R1, R2, R6)', () => {
  it('refuses a minimum length below 8, naming the key', () => {
    const issues = issuesOf({ jwtSecret: SECRET, passwordMinLength: 7 });
    expect(issues).toHaveLength(1);
    expect(issues[0]?.key).toBe('password_min_length');
    expect(issues[0]?.message).toBe('must be at least 8 (R1: the configurable floor never goes below 8)');
    expect(parseConfig({ jwtSecret: SECRET, passwordMinLength: 8 }).passwordMinLength).toBe(8);
  });

  it('keeps the maximum between 64 and 128, and the minimum below it', () => {
    expect(issuesOf({ jwtSecret: SECRET, passwordMaxLength: 63 })[0]?.key).toBe('password_max_length');
    expect(issuesOf({ jwtSecret: SECRET, passwordMaxLength: 129 })[0]?.key).toBe('password_max_length');
    expect(issuesOf({ jwtSecret: SECRET, passwordMinLength: 100, passwordMaxLength: 80 })).toEqual([
      expect.objectContaining({ key: 'password_min_length', message: 'must not exceed password_max_length (80)' }),
    ]);
  });

  it('refuses argon2 costs below the weakest OWASP row', () => {
    const issues = issuesOf({ jwtSecret: SECRET, argon2MemoryKib: 8192, argon2Iterations: 2 });
    expect(issues.map((issue) => issue.key)).toEqual(['argon2_iterations']);
    expect(parseConfig({ jwtSecret: SECRET, argon2MemoryKib: 47_104, argon2Iterations: 1 })).toBeTruthy();
    expect(parseConfig({ jwtSecret: SECRET, argon2MemoryKib: 12_288, argon2Iterations: 3 })).toBeTruthy();
  });
});

describe('token and code lifetimes (R25, R48, R49)', () => {
  it.each([
    ['verificationTokenTtlSeconds', 'verification_token_ttl_seconds', 86_401],
    ['passwordResetTokenTtlSeconds', 'password_reset_token_ttl_seconds', 3601],
    ['emailChangeTokenTtlSeconds', 'email_change_token_ttl_seconds', 3601],
    ['smsCodeTtlSeconds', 'sms_code_ttl_seconds', 601],
    ['smsCodeMaxAttempts', 'sms_code_max_attempts', 6],
  ] as const)('%s above its ceiling is refused', (option, key, value) => {
    const issues = issuesOf({ jwtSecret: SECRET, [option]: value });
    expect(issues.map((issue) => issue.key)).toEqual([key]);
    expect(issues[0]?.message).toMatch(/must be at most/);
  });
});

describe('several bad keys', () => {
  it('are all listed in one error, each with its key', () => {
    const error = errorOf({
      jwtSecret: 'short',
      passwordMinLength: 6,
      loginLockoutThreshold: 50,
      loginLockoutWindowSeconds: 60,
      baseUrl: 'not a url',
      email: { smtpPort: 0, backend: 'carrier-pigeon' as 'smtp' },
      sms: { backend: 'twilio' },
    });
    expect(error.name).toBe('RegstackConfigError');
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.issues.map((issue) => issue.key).sort()).toEqual([
      'base_url',
      'email.backend',
      'email.smtp_port',
      'jwt_secret',
      'login_lockout_threshold',
      'password_min_length',
      'sms.from_number',
      'sms.twilio_account_sid',
      'sms.twilio_auth_token',
    ]);
    expect(error.message).toMatch(/^Invalid regstack configuration \(9 problems\):\n {2}- /);
    expect(error.message).toContain(formatConfigIssues(error.issues));
    expect(error.message).toContain(
      'email.backend (from input.email.backend): must be one of "console", "smtp", "ses"',
    );
  });

  it('unknown options are errors with a camelCase suggestion', () => {
    const issues = issuesOf({ jwtSecret: SECRET, jwtTtlSecond: 60 } as RegstackConfigInput);
    expect(issues).toEqual([
      {
        key: 'jwtTtlSecond',
        source: 'input.jwtTtlSecond',
        message: 'unknown option: no regstack option has this name; did you mean jwtTtlSeconds?',
      },
    ]);
  });

  it('wrong types are reported without quoting the value', () => {
    const issues = issuesOf({ jwtSecret: SECRET, jwtTtlSeconds: '60' as unknown as number, email: 'x' as never });
    expect(issues).toEqual([
      expect.objectContaining({ key: 'jwt_ttl_seconds', message: 'expected an integer, got a string' }),
      expect.objectContaining({ key: 'email', message: 'expected a table (section), got a string' }),
    ]);
  });

  it('ConfigError.is recognises the error by name and code', () => {
    const error = errorOf({});
    expect(ConfigError.is(error)).toBe(true);
    expect(ConfigError.is(new Error('x'))).toBe(false);
    const foreign = Object.assign(new Error('x'), { name: 'RegstackConfigError', code: 'CONFIG_INVALID', issues: [] });
    expect(ConfigError.is(foreign)).toBe(true);
  });
});

describe('value normalisation', () => {
  it.each([
    ['sqlite:./app.db', 'sqlite:./app.db'],
    ['sqlite::memory:', 'sqlite::memory:'],
    ['sqlite+aiosqlite:///./regstack.db', 'sqlite:./regstack.db'],
    ['sqlite:////var/lib/app.db', 'sqlite:/var/lib/app.db'],
    ['sqlite://', 'sqlite::memory:'],
    ['postgresql+asyncpg://u:p@db/app', 'postgresql://u:p@db/app'],
    ['postgres://u:p@db/app', 'postgresql://u:p@db/app'],
    ['mongodb://localhost:27017/app', 'mongodb://localhost:27017/app'],
    ['mongodb+srv://cluster.example.net/app', 'mongodb+srv://cluster.example.net/app'],
  ])('database_url %s → %s', (input, expected) => {
    expect(parseConfig({ jwtSecret: SECRET, databaseUrl: input }).databaseUrl).toBe(expected);
  });

  it('an unsupported database URL names the scheme but never the credentials', () => {
    const error = errorOf({ jwtSecret: SECRET, databaseUrl: 'mysql://root:hunter2@db/app' });
    expect(error.issues.map((issue) => issue.key)).toEqual(['database_url']);
    expect(error.message).toContain('"mysql"');
    expect(error.message).not.toContain('hunter2');
  });

  it('parses rate limits, and "none" disables one', () => {
    const config = parseConfig({
      jwtSecret: SECRET,
      loginRateLimit: '5/second; 100 per hour',
      registerRateLimit: 'none',
      sms: { ipRateLimit: '2 per 30 minutes' },
    });
    expect(config.loginRateLimit).toEqual([
      { limit: 5, windowSeconds: 1 },
      { limit: 100, windowSeconds: 3600 },
    ]);
    expect(config.registerRateLimit).toEqual([]);
    expect(config.sms.ipRateLimit).toEqual([{ limit: 2, windowSeconds: 1800 }]);
    expect(issuesOf({ jwtSecret: SECRET, loginRateLimit: 'lots' }).map((issue) => issue.key)).toEqual([
      'login_rate_limit',
    ]);
  });

  it('accepts IP addresses and CIDR ranges as trusted proxies, nothing else (R20)', () => {
    const proxies = ['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8'];
    expect(parseConfig({ jwtSecret: SECRET, trustedProxies: proxies }).trustedProxies).toEqual(proxies);
    const issues = issuesOf({ jwtSecret: SECRET, trustedProxies: ['proxy.internal', '10.0.0.0/33', 'fe80::1%eth0'] });
    expect(issues.map((issue) => issue.key)).toEqual([
      'trusted_proxies[0]',
      'trusted_proxies[1]',
      'trusted_proxies[2]',
    ]);
  });

  it('strips the trailing slash of base_url and refuses a query string', () => {
    expect(parseConfig({ jwtSecret: SECRET, baseUrl: 'https://app.example.com/' }).baseUrl).toBe(
      'https://app.example.com',
    );
    expect(issuesOf({ jwtSecret: SECRET, baseUrl: 'https://app.example.com/?next=x' })[0]?.key).toBe('base_url');
    expect(issuesOf({ jwtSecret: SECRET, baseUrl: 'ftp://example.com' })[0]?.key).toBe('base_url');
  });

  it('validates path prefixes, and they must differ', () => {
    expect(issuesOf({ jwtSecret: SECRET, uiPrefix: 'account' })[0]?.key).toBe('ui_prefix');
    expect(issuesOf({ jwtSecret: SECRET, uiPrefix: '/account/' })[0]?.key).toBe('ui_prefix');
    expect(issuesOf({ jwtSecret: SECRET, staticPrefix: '/a/../b' })[0]?.key).toBe('static_prefix');
    expect(issuesOf({ jwtSecret: SECRET, apiPrefix: '/account' })).toEqual([
      expect.objectContaining({ key: 'ui_prefix', message: 'must differ from api_prefix ("/account")' }),
    ]);
  });

  it('keeps the __Host- cookie prefix (R58)', () => {
    expect(issuesOf({ jwtSecret: SECRET, cookieName: 'session' })[0]?.key).toBe('cookie_name');
  });

  it('link templates need {token} and an absolute origin (R28)', () => {
    expect(parseConfig({ jwtSecret: SECRET, verifyUrlTemplate: '{base_url}/#/verify/{token}' }).verifyUrlTemplate).toBe(
      '{base_url}/#/verify/{token}',
    );
    expect(issuesOf({ jwtSecret: SECRET, verifyUrlTemplate: '/verify?token={token}' })[0]?.key).toBe(
      'verify_url_template',
    );
    expect(issuesOf({ jwtSecret: SECRET, passwordResetUrlTemplate: '{base_url}/reset' })[0]?.key).toBe(
      'password_reset_url_template',
    );
  });

  it('checks transport settings that only make sense together', () => {
    expect(issuesOf({ jwtSecret: SECRET, email: { backend: 'smtp' } })).toEqual([
      expect.objectContaining({ key: 'email.smtp_host', message: 'is required when email.backend is "smtp"' }),
    ]);
    expect(issuesOf({ jwtSecret: SECRET, email: { backend: 'ses', sesAccessKeyId: 'AKIA…' } })[0]?.key).toBe(
      'email.ses_secret_access_key',
    );
    expect(issuesOf({ jwtSecret: SECRET, enableSms2fa: true, sms: { backend: 'none' } })[0]?.key).toBe('sms.backend');
    expect(issuesOf({ jwtSecret: SECRET, sms: { allowedCountryCodes: ['United Kingdom'] } })[0]?.key).toBe(
      'sms.allowed_country_codes[0]',
    );
  });
});
