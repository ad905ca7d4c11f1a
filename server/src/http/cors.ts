/**
 * CORS for the tRPC endpoint (`cors_origins`). Rule: a browser may let a page read regstack's answers only when
 * the page's origin is listed exactly. A listed origin gets `Access-Control-Allow-Origin` echoing it (with
 * credentials); `["*"]` gets `*` and never credentials (the Fetch standard refuses that pair anyway, and it would
 * hand every site the user's cookies); any other origin gets no CORS headers at all. Preflights (`OPTIONS` with
 * `Access-Control-Request-Method`) from an admitted origin are answered here and never reach the router; anything
 * else keeps the handler's own answer (an `OPTIONS` it does not take is a 405). Methods and headers admitted are
 * only those tRPC's HTTP links send. With no origins configured this module changes nothing.
 *
 * CORS only decides what a page may *read*: a cross-origin POST still has to pass R56 (JSON only, so a form cannot
 * send it) and the bearer token check, which no other origin can forge.
 */

/** The methods tRPC's HTTP links use: queries as GET, mutations as POST. */
const ALLOW_METHODS = 'GET, POST';
/** What tRPC's links send (`content-type` on POST, `trpc-accept` for streaming links) and the bearer token. */
const ALLOW_HEADERS = 'authorization, content-type, trpc-accept';
/** Response headers a page may read beyond the safelisted ones: when to retry (limits, outages) and the request id
 * to quote in a support case (docs/observability.md). */
const EXPOSE_HEADERS = 'retry-after, x-request-id';
/** Seconds a browser may reuse a preflight answer (Chromium caps it at 7200). */
const MAX_AGE_SECONDS = '7200';

type Handler<TInfo> = (request: Request, info?: TInfo) => Promise<Response>;

function appendVary(headers: Headers, name: string): void {
  const vary = headers.get('vary');
  if (!vary) headers.set('vary', name);
  else if (
    !vary
      .toLowerCase()
      .split(/\s*,\s*/)
      .includes(name.toLowerCase())
  )
    headers.set('vary', `${vary}, ${name}`);
}

/**
 * Wraps `handler` so the requests for which `isApiPath(pathname)` holds get CORS answers for `origins` (already
 * validated and normalised by the configuration schema). With no origins it returns `handler` itself.
 */
export function withCors<TInfo>(
  origins: readonly string[],
  isApiPath: (pathname: string) => boolean,
  handler: Handler<TInfo>,
): Handler<TInfo> {
  if (origins.length === 0) return handler;
  const any = origins.includes('*');
  const listed = new Set(origins);

  /** The CORS headers for `origin`, or null when it is not admitted. */
  function allowFor(origin: string | null): Record<string, string> | null {
    if (origin === null) return null;
    if (listed.has(origin))
      return { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true' };
    if (any) return { 'access-control-allow-origin': '*' };
    return null;
  }

  return async (request, info) => {
    let pathname: string;
    try {
      pathname = new URL(request.url).pathname;
    } catch {
      return handler(request, info);
    }
    if (!isApiPath(pathname)) return handler(request, info);
    const allow = allowFor(request.headers.get('origin'));

    if (request.method === 'OPTIONS' && allow && request.headers.has('access-control-request-method')) {
      const headers = new Headers({
        ...allow,
        'access-control-allow-methods': ALLOW_METHODS,
        'access-control-allow-headers': ALLOW_HEADERS,
        'access-control-max-age': MAX_AGE_SECONDS,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      });
      // The answer differs per origin: a shared cache must not hand one origin's answer to another.
      if (!any) appendVary(headers, 'Origin');
      return new Response(null, { status: 204, headers });
    }

    const response = await handler(request, info);
    if (!any) appendVary(response.headers, 'Origin');
    if (allow) {
      for (const [name, value] of Object.entries(allow)) response.headers.set(name, value);
      response.headers.set('access-control-expose-headers', EXPOSE_HEADERS);
    }
    return response;
  };
}
