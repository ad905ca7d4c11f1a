/**
 * ensureDevSecret on real files: the generated secret lands in `regstack.secrets.env` with mode 0600 (R32 strength),
 * the call is idempotent and race-safe, an existing secret anywhere is respected, production refuses, and the secret
 * is never printed.
 */
import { readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, ensureDevSecret, loadConfig } from '@regstack/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { project, SECRET, thrown } from './fixtures.ts';

const SECRET_LINE = /^REGSTACK_JWT_SECRET=([A-Za-z0-9_-]{43})$/m;

async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

function secretLines(text: string): string[] {
  return text.split('\n').filter((line) => line.startsWith('REGSTACK_JWT_SECRET='));
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('ensureDevSecret', () => {
  it('generates 32 random bytes (base64url) into a new 0600 secrets file that loadConfig then uses', async () => {
    const cwd = await project();
    const result = await ensureDevSecret({ cwd, env: {} });
    const path = join(cwd, 'regstack.secrets.env');
    expect(result).toEqual({ generated: true, secretsFile: path });
    expect(await modeOf(path)).toBe(0o600);
    const text = await readFile(path, 'utf8');
    const secret = SECRET_LINE.exec(text)?.[1];
    expect(secret).toBeDefined();
    expect(Buffer.from(secret ?? '', 'base64url')).toHaveLength(32);
    expect((await loadConfig({ cwd, env: {} })).jwtSecret).toBe(secret);
  });

  it('is idempotent: a second call changes nothing', async () => {
    const cwd = await project();
    await ensureDevSecret({ cwd, env: {} });
    const path = join(cwd, 'regstack.secrets.env');
    const first = await readFile(path, 'utf8');
    expect((await ensureDevSecret({ cwd, env: {} })).generated).toBe(false);
    expect(await readFile(path, 'utf8')).toBe(first);
  });

  it('concurrent first runs agree on one secret', async () => {
    const cwd = await project();
    const results = await Promise.all(Array.from({ length: 8 }, () => ensureDevSecret({ cwd, env: {} })));
    expect(results.filter((result) => result.generated)).toHaveLength(1);
    const text = await readFile(join(cwd, 'regstack.secrets.env'), 'utf8');
    expect(secretLines(text)).toHaveLength(1);
  });

  it('appends to an existing secrets file without the variable, keeps its lines and makes it 0600', async () => {
    const cwd = await project({
      secrets: 'REGSTACK_DATABASE_URL=sqlite:./dev.db', // no trailing newline on purpose
      secretsMode: 0o644,
    });
    const path = join(cwd, 'regstack.secrets.env');
    expect((await ensureDevSecret({ cwd, env: {} })).generated).toBe(true);
    const text = await readFile(path, 'utf8');
    expect(text.startsWith('REGSTACK_DATABASE_URL=sqlite:./dev.db\nREGSTACK_JWT_SECRET=')).toBe(true);
    expect(SECRET_LINE.test(text)).toBe(true);
    expect(await modeOf(path)).toBe(0o600);
    const config = await loadConfig({ cwd, env: {} });
    expect(config.databaseUrl).toBe('sqlite:./dev.db');
  });

  it('leaves an existing secrets file that already has the variable untouched', async () => {
    const secrets = `REGSTACK_JWT_SECRET=${SECRET}\n`;
    const cwd = await project({ secrets });
    expect((await ensureDevSecret({ cwd, env: {} })).generated).toBe(false);
    expect(await readFile(join(cwd, 'regstack.secrets.env'), 'utf8')).toBe(secrets);
  });

  it('respects a secret set in the environment or in regstack.toml: no file is written', async () => {
    const fromEnv = await project();
    expect((await ensureDevSecret({ cwd: fromEnv, env: { REGSTACK_JWT_SECRET: SECRET } })).generated).toBe(false);
    const fromToml = await project({ toml: `jwt_secret = "${SECRET}"\n` });
    expect((await ensureDevSecret({ cwd: fromToml, env: {} })).generated).toBe(false);
    for (const cwd of [fromEnv, fromToml]) {
      await expect(stat(join(cwd, 'regstack.secrets.env'))).rejects.toMatchObject({ code: 'ENOENT' });
    }
  });

  it('writes to the secrets file named by the option', async () => {
    const cwd = await project();
    const result = await ensureDevSecret({ cwd, env: {}, secretsFile: 'local.secrets.env' });
    expect(result.secretsFile).toBe(join(cwd, 'local.secrets.env'));
    expect(SECRET_LINE.test(await readFile(result.secretsFile, 'utf8'))).toBe(true);
    expect((await loadConfig({ cwd, env: {}, secretsFile: 'local.secrets.env' })).jwtSecret).toMatch(/^[\w-]{43}$/);
  });

  it('refuses in production, saying exactly how to set the secret, and writes nothing', async () => {
    const cwd = await project();
    const error = await thrown(() => ensureDevSecret({ cwd, env: { NODE_ENV: 'production' } }));
    expect(ConfigError.is(error)).toBe(true);
    const { issues, code } = error as ConfigError;
    expect(code).toBe('CONFIG_INVALID');
    expect(issues).toHaveLength(1);
    expect(issues[0]?.key).toBe('jwt_secret');
    expect(issues[0]?.message).toContain('NODE_ENV=production');
    expect(issues[0]?.message).toContain('REGSTACK_JWT_SECRET');
    expect(issues[0]?.message).toContain('regstack.secrets.env');
    await expect(stat(join(cwd, 'regstack.secrets.env'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('in production with a configured secret it does nothing', async () => {
    const cwd = await project();
    const result = await ensureDevSecret({ cwd, env: { NODE_ENV: 'production', REGSTACK_JWT_SECRET: SECRET } });
    expect(result.generated).toBe(false);
  });

  it('fails instead of generating when regstack.toml cannot be parsed (it might hold the secret)', async () => {
    const cwd = await project({ toml: 'jwt_secret = \n' });
    const error = await thrown(() => ensureDevSecret({ cwd, env: {} }));
    expect(ConfigError.is(error)).toBe(true);
    expect((error as ConfigError).issues[0]?.key).toBe('regstack.toml');
    await expect(stat(join(cwd, 'regstack.secrets.env'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('never prints the secret', async () => {
    const cwd = await project();
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const log = vi.spyOn(console, 'log');
    const warn = vi.spyOn(console, 'warn');
    await ensureDevSecret({ cwd, env: {} });
    const calls = [out, err, log, warn].flatMap((spy) => spy.mock.calls);
    out.mockRestore();
    err.mockRestore();
    expect(calls).toEqual([]);
  });

  it('an existing secrets file that is a symlink is not followed for appending', async () => {
    const cwd = await project();
    const target = join(cwd, 'elsewhere.env');
    await writeFile(target, 'REGSTACK_APP_NAME=x\n');
    await symlink(target, join(cwd, 'regstack.secrets.env'));
    const error = await thrown(() => ensureDevSecret({ cwd, env: {} }));
    expect(ConfigError.is(error)).toBe(true);
    expect((error as ConfigError).issues[0]?.message).toContain('symbolic link');
    expect(await readFile(target, 'utf8')).toBe('REGSTACK_APP_NAME=x\n');
  });
});
