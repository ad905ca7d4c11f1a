/**
 * The rule for an OpenID Connect provider's name (issue 22), with no schema library: the client checks names
 * before building a sign-in URL, and must not pull zod into a browser bundle for one regular expression. The
 * same rule as `[oauth.providers.<name>]` in the server's configuration: lowercase letters, digits, single `_`.
 */

/** A provider name: a lowercase letter, then lowercase letters and digits, with single `_` between them. */
export const OAUTH_PROVIDER_NAME_PATTERN = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

/** The longest provider name the server accepts. */
export const OAUTH_PROVIDER_NAME_MAX_LENGTH = 64;

/** True when `value` can name a provider (whether one of that name is configured is the server's to say). */
export function isOAuthProviderName(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length <= OAUTH_PROVIDER_NAME_MAX_LENGTH &&
    OAUTH_PROVIDER_NAME_PATTERN.test(value)
  );
}
