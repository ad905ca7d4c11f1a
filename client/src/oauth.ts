/**
 * The browser side of a provider sign-in (issue 22, docs/oauth.md): the start URL a page sends the browser to, and
 * reading the result the server's callback put in the app's URL (`?id=…` or `?error=CODE`). Rules: a provider name
 * is checked here with the server's own rule before it goes into a URL; only a registered regstack code is taken
 * from `error=` (anything else in the URL is not a result); the result is taken out of the address bar once read,
 * so a reload cannot replay it.
 */
import {
  isOAuthProviderName,
  isRegstackErrorCode,
  REGSTACK_ERROR_CODES,
  type RegstackErrorCode,
  type RegstackErrorData,
} from '@regstack/shared';

/**
 * A provider sign-in that ended without a session, before any request: the code from the callback's `?error=`
 * (`OAUTH_ACCOUNT_EXISTS`, `OAUTH_PROVIDER_ERROR`, …), `OAUTH_RESULT_MISSING` when the URL holds no result, or
 * `OAUTH_PROVIDER_UNKNOWN` for a name no provider can have. Read it like any regstack error:
 * `getRegstackErrorCode(err)` / `getRegstackErrorData(err)`.
 */
export class RegstackOAuthError extends Error {
  override readonly name = 'RegstackOAuthError';
  readonly code: RegstackErrorCode;
  /** The same shape a server's error carries, so `getRegstackErrorData` reads it. */
  readonly data: RegstackErrorData;

  // The registry's description, as an API message (one sentence, no final period).
  constructor(code: RegstackErrorCode, message: string = REGSTACK_ERROR_CODES[code].replace(/\.$/, '')) {
    super(message);
    this.code = code;
    this.data = { regstackCode: code };
  }

  /** True for a `RegstackOAuthError` from any copy of this package. */
  static is(value: unknown): value is RegstackOAuthError {
    return (
      value instanceof Error &&
      value.name === 'RegstackOAuthError' &&
      isRegstackErrorCode((value as { code?: unknown }).code)
    );
  }
}

/** The name, or a RegstackOAuthError: a name outside the server's rule cannot be a configured provider. */
export function checkedProviderName(name: unknown): string {
  if (!isOAuthProviderName(name)) {
    throw new RegstackOAuthError(
      'OAUTH_PROVIDER_UNKNOWN',
      'A provider name is lowercase letters, digits and single `_` (as in [oauth.providers.<name>])',
    );
  }
  return name;
}

function pageHref(): string | undefined {
  const href = (globalThis as { location?: { href?: unknown } }).location?.href;
  return typeof href === 'string' ? href : undefined;
}

/**
 * The base URL of the server's sign-in routes: `oauthPrefix` resolved against the tRPC endpoint (itself resolved
 * against the page), so the default `/oauth` lands on the endpoint's origin.
 */
export function oauthBase(endpoint: string | URL, oauthPrefix: string | URL): URL {
  let base: URL;
  try {
    // A full `oauthPrefix` needs no endpoint to resolve against.
    base = new URL(oauthPrefix);
  } catch {
    try {
      base = new URL(oauthPrefix, new URL(endpoint, pageHref()));
    } catch {
      throw new TypeError(
        `The client's url (${String(endpoint)}) is relative and there is no page to resolve it against: give an absolute url`,
      );
    }
  }
  base.search = '';
  base.hash = '';
  base.pathname = base.pathname.replace(/\/+$/, '');
  return base;
}

/** `{base}/{provider}/start[?redirect_to=…]`. */
export function startUrl(base: URL, provider: string, redirectTo: string | undefined): string {
  const url = new URL(base);
  url.pathname = `${base.pathname}/${encodeURIComponent(checkedProviderName(provider))}/start`;
  if (redirectTo !== undefined) url.searchParams.set('redirect_to', redirectTo);
  return url.href;
}

/** What the callback left in the URL. */
export type OAuthLanding = { kind: 'id'; id: string } | { kind: 'error'; error: RegstackOAuthError } | { kind: 'none' };

/** Reads `?id=` / `?error=` (an error wins: the server never sends both). */
export function readLanding(url: URL): OAuthLanding {
  const error = url.searchParams.get('error');
  if (error !== null) {
    return {
      kind: 'error',
      // Only a registered code is passed on: the page's URL is anyone's to write.
      error: new RegstackOAuthError(isRegstackErrorCode(error) ? error : 'OAUTH_RESULT_MISSING'),
    };
  }
  const id = url.searchParams.get('id');
  if (id) return { kind: 'id', id };
  return { kind: 'none' };
}

/** The URL without the callback's result (`id`, `error`); every other part kept. */
export function withoutLanding(url: URL): string {
  const clean = new URL(url);
  clean.searchParams.delete('id');
  clean.searchParams.delete('error');
  return clean.href;
}

export function missingResult(): RegstackOAuthError {
  return new RegstackOAuthError('OAUTH_RESULT_MISSING');
}

/** Where a provider sign-in's landing page stands (`useOAuthCompletion()`). */
export type OAuthCompletionStatus = 'pending' | 'signed-in' | 'mfa_required' | 'error';

interface Completing {
  completeOAuth(options?: { url?: string | URL }): Promise<{ status: 'authenticated' | 'mfa_required' }>;
  restore(): Promise<unknown>;
}

/**
 * `completeOAuth()` settled into what a landing page shows. A page reloaded after its sign-in finished finds no
 * result in its URL (it was taken out): with the session that sign-in made still there, it is `signed-in`.
 */
export async function settleCompletion(
  client: Completing,
  url: string | URL | undefined,
): Promise<{ status: Exclude<OAuthCompletionStatus, 'pending'>; error: unknown }> {
  try {
    const result = await client.completeOAuth(url === undefined ? {} : { url });
    return { status: result.status === 'authenticated' ? 'signed-in' : 'mfa_required', error: null };
  } catch (err) {
    if (RegstackOAuthError.is(err) && err.code === 'OAUTH_RESULT_MISSING') {
      const user = await client.restore().catch(() => null);
      if (user) return { status: 'signed-in', error: null };
    }
    return { status: 'error', error: err };
  }
}
