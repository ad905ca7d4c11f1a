/**
 * A request that got no readable answer — the server is down, the URL is wrong, or the browser withheld the answer
 * because the server's `cors_origins` does not list the page's origin (browsers report all of these as the same
 * bare `TypeError`, on purpose) — becomes a `RegstackNetworkError` with the stable code NETWORK_ERROR and a
 * message saying what to check. tRPC wraps it in its `TRPCClientError` like any failure, so
 * `getRegstackErrorCode(err)` reads `'NETWORK_ERROR'`. An aborted request stays an abort.
 */

type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** The error a failed `fetch` becomes; tRPC's `TRPCClientError` carries it as its `cause`. */
export class RegstackNetworkError extends Error {
  override readonly name = 'RegstackNetworkError';
  readonly code = 'NETWORK_ERROR' as const;
  /** The tRPC endpoint the client was given (resolved against the page), never a request's input. */
  readonly url: string;

  constructor(message: string, url: string, options?: ErrorOptions) {
    super(message, options);
    this.url = url;
  }

  /** True for a `RegstackNetworkError` from any copy of this package. */
  static is(value: unknown): value is RegstackNetworkError {
    return (
      value instanceof Error &&
      value.name === 'RegstackNetworkError' &&
      (value as { code?: unknown }).code === 'NETWORK_ERROR'
    );
  }
}

function pageOrigin(): string | undefined {
  const origin = (globalThis as { location?: { origin?: unknown } }).location?.origin;
  return typeof origin === 'string' && origin !== 'null' ? origin : undefined;
}

function resolveEndpoint(url: string | URL): URL | undefined {
  try {
    const base = (globalThis as { location?: { href?: unknown } }).location?.href;
    return new URL(url, typeof base === 'string' ? base : undefined);
  } catch {
    return undefined;
  }
}

function isAbort(err: unknown): boolean {
  return (err as { name?: unknown } | null)?.name === 'AbortError';
}

/** What to check, for the endpoint `url` seen from the current page (if any). */
export function networkErrorMessage(url: string | URL, cause: unknown): string {
  const endpoint = resolveEndpoint(url);
  const shown = endpoint ? `${endpoint.origin}${endpoint.pathname}` : String(url);
  const detail = cause instanceof Error && cause.message ? ` (${cause.message})` : '';
  const page = pageOrigin();
  let message = `Could not reach the regstack server at ${shown}${detail}. Is the server running at that address?`;
  if (page && endpoint && endpoint.origin !== page) {
    message += ` This page (${page}) is on another origin: does the server's cors_origins include ${page}?`;
  }
  return message;
}

/** `fetch` that turns a network failure into a `RegstackNetworkError`; everything else passes through unchanged. */
export function fetchReportingNetworkErrors(url: string | URL, fetchImpl: FetchLike | undefined): FetchLike {
  return async (input, init) => {
    try {
      // Looked up at call time, and called on globalThis: some browsers refuse an unbound `fetch`.
      return await (fetchImpl ? fetchImpl(input, init) : globalThis.fetch(input, init));
    } catch (err) {
      if (isAbort(err) || init?.signal?.aborted) throw err;
      const endpoint = resolveEndpoint(url);
      throw new RegstackNetworkError(networkErrorMessage(url, err), endpoint ? endpoint.href : String(url), {
        cause: err,
      });
    }
  };
}
