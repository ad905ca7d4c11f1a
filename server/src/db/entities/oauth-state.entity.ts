/**
 * oauth_states — the server-side half of a sign-in with a provider (issue 22, R23, R26). Two kinds of row:
 * - `start`: made by `GET {oauth_prefix}/{provider}/start`; keyed by SHA-256 of the `state` sent to the provider,
 *   holding the `nonce`, the PKCE verifier, the validated `redirect_to` and, for `auth.oauth.link.start`, the user
 *   the identity is for. The callback takes it once.
 * - `completion`: made by a successful callback; keyed by SHA-256 of the one-time id the app gets in its URL, naming
 *   the user `auth.oauth.exchange` opens a session for. Taken once.
 * - `link`: made by `auth.oauth.link.start`; keyed by SHA-256 of the ticket in the `{oauth_prefix}/{provider}/start?link=`
 *   URL it answers, naming the signed-in user and `redirect_to`. The browser that follows the URL takes it once and
 *   goes on as a `start` row bound to that browser.
 * `browser_binding` (`start` and `completion`) is SHA-256 of the random value in the browser's HttpOnly binding
 * cookie (login CSRF, RFC 9700 §4.7): the callback, and the pages' `/oauth-complete`, refuse another browser.
 * Only hashes of the values a browser carries are stored. Single use is a claim (`oauth:<id>`, claim.entity.ts),
 * which holds on every backend; a row past `expires_at` is dead and purged.
 */
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

export const OAUTH_STATE_KINDS = ['start', 'completion', 'link'] as const;
export type OAuthStateKind = (typeof OAUTH_STATE_KINDS)[number];

export const OAuthStateSchema = defineEntity({
  name: 'OAuthState',
  tableName: 'oauth_states',
  properties: {
    id: p.string().primary().length(64),
    kind: p.string().$type<OAuthStateKind>().length(16),
    provider: p.string().length(64),
    nonce: p.string().length(128).nullable(),
    codeVerifier: p.string().length(128).nullable().hidden(),
    redirectTo: p.string().length(2048).nullable(),
    userId: p.string().length(36).nullable(),
    browserBinding: p.string().length(64).nullable(),
    expiresAt: p.datetime().length(3).index(),
    createdAt: p.datetime().length(3),
  },
});

export type OAuthState = InferEntity<typeof OAuthStateSchema>;
