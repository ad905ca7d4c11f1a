/**
 * Issue 22 item 1: OpenID Connect providers in the configuration — `[oauth.providers.<name>]` in TOML, the same keys
 * as `REGSTACK_OAUTH__PROVIDERS__<NAME>__*` variables, client secrets kept out of messages and warned about in
 * TOML like every secret, the presets' rules, and the Python regstack's `oauth.google_*` keys loading as the
 * `google` preset (listed by `auth.oauth.providers`).
 */
import { ConfigError, createRegstack, loadConfig, silentLogger } from '@regstack/server';
import { describe, expect, it } from 'vitest';
import { project, SECRET, thrown, warningSink } from '../config/fixtures.ts';

const env = { REGSTACK_JWT_SECRET: SECRET };

describe('OpenID Connect providers in the configuration (issue 22 item 1)', () => {
  it('TOML tables and REGSTACK_OAUTH__PROVIDERS__<NAME>__* variables make the same provider', async () => {
    const cwd = await project({
      toml: 'enable_oauth = true\n[oauth.providers.corp]\nissuer = "https://idp.example.com"\nclient_id = "from-toml"\n',
    });
    const config = await loadConfig({
      cwd,
      env: {
        ...env,
        REGSTACK_OAUTH__PROVIDERS__CORP__CLIENT_ID: 'from-env',
        REGSTACK_OAUTH__PROVIDERS__CORP__CLIENT_SECRET: 'corp-secret',
        REGSTACK_OAUTH__PROVIDERS__CORP__SCOPES: 'openid,email',
        REGSTACK_OAUTH__PROVIDERS__MICROSOFT__CLIENT_ID: 'ms-client',
        REGSTACK_OAUTH__PROVIDERS__MICROSOFT__TENANT: 'contoso.onmicrosoft.com',
      },
    });
    expect(config.enableOauth).toBe(true);
    expect(config.oauthPrefix).toBe('/oauth');
    expect(config.oauth.providers).toEqual({
      corp: {
        issuer: 'https://idp.example.com',
        clientId: 'from-env',
        clientSecret: 'corp-secret',
        scopes: ['openid', 'email'],
      },
      microsoft: { clientId: 'ms-client', tenant: 'contoso.onmicrosoft.com', scopes: ['openid', 'email', 'profile'] },
    });
  });

  it('a client secret is a secret: warned about in TOML, never quoted in an error', async () => {
    const cwd = await project({
      toml: '[oauth.providers.corp]\nissuer = "https://idp.example.com"\nclient_id = "c"\nclient_secret = "toml-secret"\n',
    });
    const { warnings, onWarning } = warningSink();
    await loadConfig({ cwd, env, onWarning });
    expect(warnings.map((w) => w.key)).toEqual(['oauth.providers.corp.client_secret']);
    expect(warnings[0]?.message).toContain('REGSTACK_OAUTH__PROVIDERS__CORP__CLIENT_SECRET');
    expect(JSON.stringify(warnings)).not.toContain('toml-secret');

    const empty = await project();
    const broken = await thrown(() =>
      loadConfig({ cwd: empty, env: { ...env, REGSTACK_OAUTH__PROVIDERS__CORP__CLIENT_SECRET: 'env-secret' } }),
    );
    expect(ConfigError.is(broken)).toBe(true);
    expect((broken as ConfigError).issues.map((i) => i.key).sort()).toEqual([
      'oauth.providers.corp.client_id',
      'oauth.providers.corp.issuer',
    ]);
    expect((broken as Error).message).not.toContain('env-secret');
  });

  it('refuses bad provider names, a preset-less provider without issuer, and an uncheckable Microsoft tenant', async () => {
    const cwd = await project({
      toml: [
        '[oauth.providers.Corp]',
        'issuer = "https://idp.example.com"',
        'client_id = "c"',
        '[oauth.providers.other]',
        'client_id = "c"',
        '[oauth.providers.microsoft]',
        'client_id = "c"',
        'tenant = "common"',
        '[oauth]',
        'allowed_redirects = ["https://app.example.com/path"]',
      ].join('\n'),
    });
    const error = await thrown(() => loadConfig({ cwd, env }));
    expect(ConfigError.is(error)).toBe(true);
    expect((error as ConfigError).issues.map((i) => i.key).sort()).toEqual([
      'oauth.allowed_redirects[0]',
      'oauth.providers.Corp',
      'oauth.providers.microsoft.tenant',
      'oauth.providers.other.issuer',
    ]);
  });

  it("the Python regstack's oauth.google_client_id / google_client_secret load as the google preset", async () => {
    const cwd = await project({
      toml: 'enable_oauth = true\n[oauth]\ngoogle_client_id = "123.apps.googleusercontent.com"\n',
    });
    const { warnings, onWarning } = warningSink();
    const config = await loadConfig({
      cwd,
      env: { ...env, REGSTACK_OAUTH__GOOGLE_CLIENT_SECRET: 'g-secret', REGSTACK_DATABASE_URL: 'sqlite::memory:' },
      onWarning,
    });
    expect(warnings).toEqual([]);
    const regstack = await createRegstack({ config, logger: silentLogger });
    try {
      await regstack.installSchema();
      expect(await regstack.createCaller().oauth.providers()).toEqual({
        providers: [{ name: 'google', linked: false, email: null }],
      });
    } finally {
      await regstack.close();
    }
  });
});
