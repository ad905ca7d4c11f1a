/**
 * loadConfig against real files in real temporary directories: source precedence per key, `__` nesting, text
 * coercion and its errors, the secrets file, unknown keys, and that every problem lands in one ConfigError.
 */
import { join } from 'node:path';
import { ConfigError, loadConfig } from '@regstack/server';
import { describe, expect, it } from 'vitest';
import { project, SECRET, thrown, warningSink } from './fixtures.ts';

async function configError(promise: () => Promise<unknown>): Promise<ConfigError> {
  const error = await thrown(promise);
  expect(ConfigError.is(error)).toBe(true);
  return error as ConfigError;
}

describe('source precedence: overrides > env > secrets file > toml > defaults', () => {
  const files = {
    toml: 'jwt_ttl_seconds = 1000\napp_name = "From TOML"\n[email]\nsmtp_host = "toml.example"\n',
    secrets: `REGSTACK_JWT_SECRET=${SECRET}\nREGSTACK_JWT_TTL_SECONDS=2000\nREGSTACK_EMAIL__SMTP_HOST=secrets.example\n`,
  };
  const env = { REGSTACK_JWT_TTL_SECONDS: '3000', REGSTACK_EMAIL__SMTP_HOST: 'env.example' };

  it('explicit overrides win over every other source', async () => {
    const cwd = await project(files);
    const config = await loadConfig({
      cwd,
      env,
      overrides: { jwtTtlSeconds: 4000, email: { smtpHost: 'override.example' } },
    });
    expect(config.jwtTtlSeconds).toBe(4000);
    expect(config.email.smtpHost).toBe('override.example');
  });

  it('environment variables win over the secrets file and the TOML file', async () => {
    const cwd = await project(files);
    const config = await loadConfig({ cwd, env });
    expect(config.jwtTtlSeconds).toBe(3000);
    expect(config.email.smtpHost).toBe('env.example');
  });

  it('the secrets file wins over the TOML file', async () => {
    const cwd = await project(files);
    const config = await loadConfig({ cwd, env: {} });
    expect(config.jwtTtlSeconds).toBe(2000);
    expect(config.email.smtpHost).toBe('secrets.example');
  });

  it('the TOML file wins over the defaults', async () => {
    const cwd = await project({ toml: files.toml });
    const config = await loadConfig({ cwd, env: { REGSTACK_JWT_SECRET: SECRET } });
    expect(config.jwtTtlSeconds).toBe(1000);
    expect(config.email.smtpHost).toBe('toml.example');
  });

  it('defaults fill every key no source sets', async () => {
    const cwd = await project();
    const config = await loadConfig({ cwd, env: { REGSTACK_JWT_SECRET: SECRET } });
    expect(config.jwtTtlSeconds).toBe(7200);
    expect(config.email.smtpHost).toBeUndefined();
    expect(config.email.smtpPort).toBe(587);
    expect(config.databaseUrl).toBe('sqlite:./regstack.db');
  });

  it('merges per key: each key comes from the highest source that sets it', async () => {
    const cwd = await project(files);
    const config = await loadConfig({ cwd, env: { REGSTACK_JWT_TTL_SECONDS: '3000' } });
    expect(config.appName).toBe('From TOML');
    expect(config.jwtSecret).toBe(SECRET);
    expect(config.jwtTtlSeconds).toBe(3000);
    expect(config.email.smtpHost).toBe('secrets.example');
    expect(config.email.smtpPort).toBe(587);
  });

  it('an override set to undefined leaves the lower source in place', async () => {
    const cwd = await project(files);
    const config = await loadConfig({ cwd, env, overrides: { jwtTtlSeconds: undefined } });
    expect(config.jwtTtlSeconds).toBe(3000);
  });

  it('reads process.env when no env is injected', async () => {
    const cwd = await project({ secrets: `REGSTACK_JWT_SECRET=${SECRET}\n` });
    const name = 'REGSTACK_JWT_ISSUER';
    const before = process.env[name];
    process.env[name] = 'issuer-from-process-env';
    try {
      expect((await loadConfig({ cwd })).jwtIssuer).toBe('issuer-from-process-env');
    } finally {
      if (before === undefined) delete process.env[name];
      else process.env[name] = before;
    }
  });
});

describe('environment variables', () => {
  it('nest sections with a double underscore', async () => {
    const cwd = await project();
    const config = await loadConfig({
      cwd,
      env: {
        REGSTACK_JWT_SECRET: SECRET,
        REGSTACK_EMAIL__BACKEND: 'smtp',
        REGSTACK_EMAIL__SMTP_HOST: 'smtp.example.com',
        REGSTACK_EMAIL__SMTP_PORT: '2525',
        REGSTACK_SMS__ALLOWED_COUNTRY_CODES: 'gb,+1',
      },
    });
    expect(config.email).toMatchObject({ backend: 'smtp', smtpHost: 'smtp.example.com', smtpPort: 2525 });
    expect(config.sms.allowedCountryCodes).toEqual(['GB', '+1']);
  });

  it('coerce numbers, booleans and lists by the type of the key', async () => {
    const cwd = await project();
    const config = await loadConfig({
      cwd,
      env: {
        REGSTACK_JWT_SECRET: SECRET,
        REGSTACK_LOGIN_LOCKOUT_THRESHOLD: ' 7 ',
        REGSTACK_ENABLE_ADMIN_ROUTER: 'true',
        REGSTACK_REQUIRE_VERIFICATION: '0',
        REGSTACK_ENABLE_UI_ROUTER: 'YES',
        REGSTACK_EMAIL__SMTP_STARTTLS: 'off',
        REGSTACK_TRUSTED_PROXIES: '10.0.0.0/8, 192.168.1.1 ,::1',
        REGSTACK_JWT_PREVIOUS_SECRETS: JSON.stringify([`old-${SECRET}`, `older-${SECRET}`]),
      },
    });
    expect(config.loginLockoutThreshold).toBe(7);
    expect(config.enableAdminRouter).toBe(true);
    expect(config.requireVerification).toBe(false);
    expect(config.enableUiRouter).toBe(true);
    expect(config.email.smtpStarttls).toBe(false);
    expect(config.trustedProxies).toEqual(['10.0.0.0/8', '192.168.1.1', '::1']);
    expect(config.jwtPreviousSecrets).toEqual([`old-${SECRET}`, `older-${SECRET}`]);
  });

  it('treat an empty value as unset (and as an empty list for lists)', async () => {
    const cwd = await project({ toml: 'jwt_ttl_seconds = 1000\ntrusted_proxies = ["10.0.0.1"]\n' });
    const config = await loadConfig({
      cwd,
      env: { REGSTACK_JWT_SECRET: SECRET, REGSTACK_JWT_TTL_SECONDS: '', REGSTACK_TRUSTED_PROXIES: '' },
    });
    expect(config.jwtTtlSeconds).toBe(1000);
    expect(config.trustedProxies).toEqual([]);
  });

  it('REGSTACK_JWT_TTL_SECONDS=abc names the variable, the key and the reason', async () => {
    const cwd = await project();
    const error = await configError(() =>
      loadConfig({ cwd, env: { REGSTACK_JWT_SECRET: SECRET, REGSTACK_JWT_TTL_SECONDS: 'abc' } }),
    );
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.issues).toEqual([
      { key: 'jwt_ttl_seconds', source: 'REGSTACK_JWT_TTL_SECONDS', message: 'expected an integer, got "abc"' },
    ]);
    expect(error.message).toContain('jwt_ttl_seconds (from REGSTACK_JWT_TTL_SECONDS): expected an integer, got "abc"');
  });

  it('reject a boolean that is not a boolean, and a malformed JSON list', async () => {
    const cwd = await project();
    const error = await configError(() =>
      loadConfig({
        cwd,
        env: {
          REGSTACK_JWT_SECRET: SECRET,
          REGSTACK_ENABLE_SMS_2FA: 'maybe',
          REGSTACK_TRUSTED_PROXIES: '["10.0.0.1",',
          REGSTACK_EMAIL__SMTP_PORT: '25.5',
        },
      }),
    );
    expect(error.issues.map((issue) => issue.key)).toEqual(['email.smtp_port', 'enable_sms_2fa', 'trusted_proxies']);
    expect(error.message).toContain(
      'enable_sms_2fa (from REGSTACK_ENABLE_SMS_2FA): expected true or false, got "maybe"',
    );
    expect(error.message).toContain('trusted_proxies (from REGSTACK_TRUSTED_PROXIES): expected a JSON array');
    expect(error.message).toContain(
      'email.smtp_port (from REGSTACK_EMAIL__SMTP_PORT): expected an integer, got "25.5"',
    );
  });

  it('an unknown REGSTACK_ variable is an error naming it, with a suggestion', async () => {
    const cwd = await project();
    const error = await configError(() =>
      loadConfig({
        cwd,
        env: { REGSTACK_JWT_SECRET: SECRET, REGSTACK_JWT_TTL_SECOND: '60', REGSTACK_EMAIL_SMTP_HOST: 'smtp.example' },
      }),
    );
    expect(error.issues.map((issue) => issue.source)).toEqual(['REGSTACK_EMAIL_SMTP_HOST', 'REGSTACK_JWT_TTL_SECOND']);
    expect(error.message).toContain('REGSTACK_JWT_TTL_SECOND');
    expect(error.message).toContain('did you mean REGSTACK_JWT_TTL_SECONDS?');
    expect(error.message).toContain('did you mean REGSTACK_EMAIL__SMTP_HOST?');
  });

  it('a section name alone is an error that shows how to set its keys', async () => {
    const cwd = await project();
    const error = await configError(() =>
      loadConfig({ cwd, env: { REGSTACK_JWT_SECRET: SECRET, REGSTACK_EMAIL: 'x' } }),
    );
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]?.key).toBe('email');
    expect(error.issues[0]?.message).toMatch(/is a section.*REGSTACK_EMAIL__/);
  });

  it('ignore other variables, REGSTACK_TEST_* and the file-location variables', async () => {
    const cwd = await project();
    const config = await loadConfig({
      cwd,
      env: {
        REGSTACK_JWT_SECRET: SECRET,
        REGSTACK_TEST_BACKENDS: 'sqlite,postgres',
        REGSTACK_TEST_MONGO_URL: 'mongodb://localhost',
        PATH: '/usr/bin',
        JWT_SECRET: 'not ours',
      },
    });
    expect(config.jwtSecret).toBe(SECRET);
  });
});

describe('files', () => {
  it('REGSTACK_CONFIG and REGSTACK_SECRETS_FILE name the files, relative to cwd', async () => {
    const cwd = await project();
    const other = await project({ toml: 'app_name = "Elsewhere"\n', secrets: `REGSTACK_JWT_SECRET=${SECRET}\n` });
    const config = await loadConfig({
      cwd,
      env: {
        REGSTACK_CONFIG: join(other, 'regstack.toml'),
        REGSTACK_SECRETS_FILE: join(other, 'regstack.secrets.env'),
      },
    });
    expect(config.appName).toBe('Elsewhere');
    expect(config.jwtSecret).toBe(SECRET);
  });

  it('a file named explicitly must exist; the default files may be absent', async () => {
    const cwd = await project();
    const error = await configError(() =>
      loadConfig({ cwd, configFile: 'missing.toml', secretsFile: 'missing.env', env: { REGSTACK_JWT_SECRET: SECRET } }),
    );
    expect(error.issues).toEqual([
      { key: 'missing.toml', message: 'file not found' },
      { key: 'missing.env', message: 'file not found' },
    ]);
  });

  it('parses the secrets file as dotenv: comments, quotes, export, spaces', async () => {
    const cwd = await project({
      secrets: [
        '# regstack.secrets.env',
        `export REGSTACK_JWT_SECRET="${SECRET}"`,
        "REGSTACK_EMAIL__SMTP_PASSWORD='p@ss word # not a comment'",
        'REGSTACK_EMAIL__SMTP_USERNAME = mailer   # trailing comment',
        '',
        'REGSTACK_DATABASE_URL=postgresql://app:secret@db.internal:5432/app',
      ].join('\n'),
    });
    const config = await loadConfig({ cwd, env: {} });
    expect(config.jwtSecret).toBe(SECRET);
    expect(config.email.smtpPassword).toBe('p@ss word # not a comment');
    expect(config.email.smtpUsername).toBe('mailer');
    expect(config.databaseUrl).toBe('postgresql://app:secret@db.internal:5432/app');
  });

  it('an unknown REGSTACK_ name in the secrets file is an error naming the file and the name', async () => {
    const cwd = await project({ secrets: `REGSTACK_JWT_SECRET=${SECRET}\nREGSTACK_JWT_SECRETS=oops\n` });
    const error = await configError(() => loadConfig({ cwd, env: {} }));
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]?.source).toBe('regstack.secrets.env: REGSTACK_JWT_SECRETS');
  });

  it('warns about non-REGSTACK names in the secrets file and a secrets file others can read', async () => {
    const cwd = await project({ secrets: `REGSTACK_JWT_SECRET=${SECRET}\nJWT_SECRET=x\n`, secretsMode: 0o644 });
    const { warnings, onWarning } = warningSink();
    await loadConfig({ cwd, env: {}, onWarning });
    expect(warnings.map((warning) => warning.key).sort()).toEqual(['JWT_SECRET', 'regstack.secrets.env']);
    expect(warnings.find((warning) => warning.key === 'regstack.secrets.env')?.message).toContain('chmod 600');
  });

  it('converts snake_case TOML keys and tables, and coerces text written where a number is expected', async () => {
    const cwd = await project({
      toml: [
        'base_url = "https://app.example.com/"',
        'jwt_ttl_seconds = "3600"',
        'enable_sms_2fa = true',
        'login_rate_limit = "3 per 10 minutes"',
        '[sms]',
        'backend = "sns"',
        'allowed_country_codes = ["GB", "ie"]',
      ].join('\n'),
    });
    const config = await loadConfig({ cwd, env: { REGSTACK_JWT_SECRET: SECRET } });
    expect(config.baseUrl).toBe('https://app.example.com');
    expect(config.jwtTtlSeconds).toBe(3600);
    expect(config.enableSms2fa).toBe(true);
    expect(config.loginRateLimit).toEqual([{ limit: 3, windowSeconds: 600 }]);
    expect(config.sms).toMatchObject({ backend: 'sns', allowedCountryCodes: ['GB', 'IE'] });
  });

  it('an unknown TOML key is an error with a suggestion; camelCase keys are pointed at their snake_case name', async () => {
    const cwd = await project({ toml: 'jwtTtlSeconds = 60\n[email]\nsmtp_hots = "x"\n' });
    const error = await configError(() => loadConfig({ cwd, env: { REGSTACK_JWT_SECRET: SECRET } }));
    expect(error.issues).toEqual([
      {
        key: 'jwtTtlSeconds',
        source: 'regstack.toml',
        message: 'unknown setting: no regstack option has this name; did you mean jwt_ttl_seconds?',
      },
      {
        key: 'email.smtp_hots',
        source: 'regstack.toml',
        message: 'unknown setting: no regstack option has this name; did you mean email.smtp_host?',
      },
    ]);
  });

  it('a TOML syntax error gives line and column but never the text around it (it may hold a secret)', async () => {
    const cwd = await project({ toml: `jwt_secret = "${SECRET}"\nbroken = = 1\n` });
    const error = await configError(() => loadConfig({ cwd, env: {} }));
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]?.key).toBe('regstack.toml');
    expect(error.issues[0]?.message).toMatch(/^invalid TOML at line 2, column \d+/);
    expect(error.message).not.toContain(SECRET);
  });

  it('warns when a secret is written in the TOML file', async () => {
    const cwd = await project({ toml: `jwt_secret = "${SECRET}"\n` });
    const { warnings, onWarning } = warningSink();
    const config = await loadConfig({ cwd, env: {}, onWarning });
    expect(config.jwtSecret).toBe(SECRET);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.key).toBe('jwt_secret');
    expect(warnings[0]?.message).toContain('REGSTACK_JWT_SECRET');
    expect(JSON.stringify(warnings)).not.toContain(SECRET);
  });
});

describe('one error lists every problem, from every source', () => {
  it('collects file, variable, coercion and schema problems together', async () => {
    const cwd = await project({
      toml: 'login_lockout_threshold = 50\nlogin_lockout_window_seconds = 60\npassword_min_length = 6\n',
      secrets: 'REGSTACK_JWT_SECRET=too-short\n',
    });
    const error = await configError(() =>
      loadConfig({
        cwd,
        env: { REGSTACK_EMAIL__SMTP_PORT: 'many', REGSTACK_NOPE: '1' },
        overrides: { email: { backend: 'smtp' } },
      }),
    );
    const byKey = new Map(error.issues.map((issue) => [issue.key, issue]));
    expect([...byKey.keys()].sort()).toEqual([
      'email.smtp_host',
      'email.smtp_port',
      'jwt_secret',
      'login_lockout_threshold',
      'nope',
      'password_min_length',
    ]);
    expect(byKey.get('jwt_secret')?.source).toBe('regstack.secrets.env: REGSTACK_JWT_SECRET');
    expect(byKey.get('password_min_length')?.source).toBe('regstack.toml');
    expect(error.message).toContain('6 problems');
    expect(error.message).not.toContain('too-short');
  });
});
