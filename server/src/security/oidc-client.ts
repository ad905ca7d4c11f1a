/**
 * The OpenID Connect relying party, through `openid-client` (a certified implementation; no hand-written OAuth).
 * One client per configured provider: discovery on first use (cached; a failed discovery is retried on the next
 * sign-in), authorization URLs with PKCE S256, `state` and `nonce`, and the code grant whose ID token is checked
 * for issuer, audience, nonce, expiry and algorithm — and, beyond what the library does by default for a token
 * fetched over TLS, its signature against the provider's JWKS (`enableNonRepudiationChecks`), so a token that a
 * compromised or impostor token endpoint signs with the wrong key or `alg` (`none`, HS256 keyed with the public key)
 * is refused. Plain http is allowed for a loopback issuer only (development and tests).
 */
import * as client from 'openid-client';
import { OAUTH_PRESET_ISSUERS } from '../config/config.schema.ts';
import type { RegstackConfig } from '../config/index.ts';
import { RegstackError } from '../errors/regstack-error.ts';

/** What the ID token says about the person, after every check passed. */
export interface OidcIdentity {
  subject: string;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
}

export interface OidcClient {
  readonly name: string;
  authorizationUrl(input: { redirectUri: string; state: string; nonce: string; codeChallenge: string }): Promise<URL>;
  /** The code grant for the callback at `currentUrl`; throws OAUTH_* RegstackErrors. */
  complete(currentUrl: URL, checks: { state: string; nonce: string; codeVerifier: string }): Promise<OidcIdentity>;
}

export const randomState = client.randomState;
export const randomNonce = client.randomNonce;
export const randomCodeVerifier = client.randomPKCECodeVerifier;
export const codeChallengeOf = client.calculatePKCECodeChallenge;

function isLoopback(url: URL): boolean {
  return ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}

/** The issuer URL of a configured provider (its own, or its preset's). */
export function issuerOf(name: string, provider: RegstackConfig['oauth']['providers'][string]): URL {
  if (provider.issuer) return new URL(provider.issuer);
  if (name === 'microsoft') return new URL(OAUTH_PRESET_ISSUERS.microsoft.replace('{tenant}', provider.tenant ?? ''));
  return new URL(OAUTH_PRESET_ISSUERS.google);
}

const tokenInvalid = (cause: unknown) =>
  new RegstackError('OAUTH_TOKEN_INVALID', 'The provider sign-in could not be verified', { cause });
const providerError = (cause: unknown) =>
  new RegstackError('OAUTH_PROVIDER_ERROR', 'The provider did not complete the sign-in', { cause });

function createOidcClient(name: string, provider: RegstackConfig['oauth']['providers'][string]): OidcClient {
  const issuer = issuerOf(name, provider);
  const scope = [...new Set(['openid', ...provider.scopes])].join(' ');
  let discovered: Promise<client.Configuration> | undefined;

  function configuration(): Promise<client.Configuration> {
    discovered ??= client
      .discovery(
        issuer,
        provider.clientId,
        // RS256 unless the provider says otherwise; `none` and HMAC algorithms are never accepted.
        undefined,
        provider.clientSecret ? client.ClientSecretPost(provider.clientSecret) : client.None(),
        {
          execute: [
            ...(issuer.protocol === 'http:' && isLoopback(issuer) ? [client.allowInsecureRequests] : []),
            client.enableNonRepudiationChecks,
          ],
          timeout: 10,
        },
      )
      .catch((err: unknown) => {
        discovered = undefined;
        throw providerError(err);
      });
    return discovered;
  }

  return {
    name,
    async authorizationUrl({ redirectUri, state, nonce, codeChallenge }) {
      return client.buildAuthorizationUrl(await configuration(), {
        redirect_uri: redirectUri,
        scope,
        state,
        nonce,
        code_challenge: codeChallenge,
        code_challenge_method: 'S256',
      });
    },

    async complete(currentUrl, checks) {
      const config = await configuration();
      let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
      try {
        tokens = await client.authorizationCodeGrant(config, currentUrl, {
          pkceCodeVerifier: checks.codeVerifier,
          expectedState: checks.state,
          expectedNonce: checks.nonce,
          idTokenExpected: true,
        });
      } catch (err) {
        // The provider said no in the redirect (the user cancelled, access_denied): not a forgery.
        if (err instanceof client.AuthorizationResponseError) throw providerError(err);
        // Unreachable token endpoint or JWKS.
        if (err instanceof TypeError || (err instanceof Error && err.name === 'TimeoutError')) throw providerError(err);
        // Everything else is a check that failed: a refused code (invalid_grant: used twice, wrong verifier), an ID
        // token of another issuer or audience, a wrong or missing nonce, an expired token, a bad signature or alg.
        throw tokenInvalid(err);
      }
      const claims = tokens.claims();
      if (!claims?.sub) throw tokenInvalid(new Error('no ID token subject'));
      const email = typeof claims.email === 'string' && claims.email !== '' ? claims.email : null;
      return {
        subject: claims.sub,
        email,
        // Only an explicit `true` counts (Google sends a boolean; some providers a string).
        emailVerified: claims.email_verified === true || claims.email_verified === 'true',
        name: typeof claims.name === 'string' ? claims.name : null,
      };
    },
  };
}

/**
 * The configured providers by name: `[oauth.providers.*]`, plus the Python regstack's `oauth.google_client_id` /
 * `google_client_secret` as the `google` preset (an explicit `[oauth.providers.google]` wins).
 */
export function configuredProviders(config: RegstackConfig): RegstackConfig['oauth']['providers'] {
  const { providers, googleClientId, googleClientSecret } = config.oauth;
  if (!googleClientId || providers.google) return providers;
  return {
    ...providers,
    google: { clientId: googleClientId, clientSecret: googleClientSecret, scopes: ['openid', 'email', 'profile'] },
  };
}

/** The clients of every configured provider, by name. */
export function createOidcClients(config: RegstackConfig): ReadonlyMap<string, OidcClient> {
  return new Map(
    Object.entries(configuredProviders(config)).map(([name, provider]) => [name, createOidcClient(name, provider)]),
  );
}
