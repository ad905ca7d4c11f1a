/**
 * Inputs of `auth.oauth.*` (sign-in with OpenID Connect providers, issue 22). Provider names follow the server's
 * configuration rule; the one-time exchange id is what the callback put in the app's URL (base64url).
 */
import { z } from 'zod';
import { OAUTH_PROVIDER_NAME_MAX_LENGTH, OAUTH_PROVIDER_NAME_PATTERN } from './oauth-names.ts';

export const oauthProviderNameSchema = z
  .string()
  .max(OAUTH_PROVIDER_NAME_MAX_LENGTH)
  .regex(OAUTH_PROVIDER_NAME_PATTERN, { error: 'Unknown provider' });

export const oauthExchangeInput = z.strictObject({
  id: z
    .string()
    .min(16)
    .max(128)
    .regex(/^[A-Za-z0-9_-]+$/, { error: 'Invalid sign-in id' }),
});
export type OAuthExchangeInput = z.input<typeof oauthExchangeInput>;

export const oauthLinkStartInput = z.strictObject({
  provider: oauthProviderNameSchema,
  /** Where the browser returns after linking: a path on the site or an allowed origin. */
  redirectTo: z.string().max(2048).optional(),
});
export type OAuthLinkStartInput = z.input<typeof oauthLinkStartInput>;

export const oauthUnlinkInput = z.strictObject({ provider: oauthProviderNameSchema });
export type OAuthUnlinkInput = z.input<typeof oauthUnlinkInput>;
