/**
 * regstack over HTTP as one `(Request) => Response` function — what Hono, Next.js route handlers, Bun and
 * Deno serve directly, and what `regstack.listen()` wraps for Node. Routes: tRPC at `api_prefix` (default
 * `/trpc`, the router mounted as `auth`), `/healthz`, and with `enable_oauth` the browser legs of a provider sign-in:
 * `GET {oauth_prefix}/{provider}/start` and `GET {oauth_prefix}/{provider}/callback`, each always a 302
 * (services/oauth.service.ts decides where to). `start` sets the sign-in binding cookie (page-session.ts; reused when
 * the browser already has one, so two tabs can sign in at once) and the callback hands its value to the service,
 * which refuses another browser's state. Nothing clears it: it ends with its lifetime, so a sign-in of another tab
 * still under way keeps working; the callback only extends it when the pages' `/oauth-complete` still has to check
 * it.
 *
 * Before tRPC sees a request: only GET (queries) and POST, other methods get 405 with `Allow` (as do methods
 * other than GET and HEAD on `/healthz` and the pages); a POST must be `application/json` (R56: a form
 * or text/plain post — the CSRF-able "simple" content types — is refused, 415); bodies over
 * `max_request_body_bytes` are refused with 413 before parsing (R2, R55). Inputs then pass the wire-envelope
 * check of regstack's transformer (R69, trpc/wire-envelope.ts). Every response carries
 * `Cache-Control: no-store`, `X-Content-Type-Options: nosniff` and a strict referrer policy (R59), and an
 * error that knows when to retry (lockout, rate limit, shedding) sets `Retry-After` (R14, R16). CORS for the
 * tRPC endpoint, when `cors_origins` lists any, is cors.ts's.
 *
 * Every request gets a request id (telemetry/request-scope.ts): the client's `X-Request-Id` when it has a safe
 * shape, else a fresh one; it is echoed in `X-Request-Id` and carried by every log line written while the request
 * runs. A `traceparent` is honoured when no server span is active yet (a host tracing without HTTP
 * instrumentation), through the propagator the host registered; without one it is ignored.
 */

import { randomBytes } from 'node:crypto';
import { context, propagation, type TextMapGetter, trace } from '@opentelemetry/api';
import { TRPCError } from '@trpc/server';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import type { RegstackConfig } from '../config/index.ts';
import type { SchemaState } from '../db/schema.ts';
import type { Storage } from '../db/storage.ts';
import { RegstackError } from '../errors/regstack-error.ts';
import type { Logger } from '../logger.ts';
import { regstackRouter } from '../routers/auth.ts';
import { requestIdFor, runInRequest } from '../telemetry/request-scope.ts';
import type { RegstackContext, RegstackRuntime } from '../trpc/context.ts';
import { describeError } from '../trpc/error-formatter.ts';
import { t } from '../trpc/init.ts';
import type { ClientIpResolver } from './client-ip.ts';
import { withCors } from './cors.ts';
import { createAccountPages, pageHeaders, pageMethods } from './pages/account-pages.ts';
import { PAGES_CSS } from './pages/assets.ts';
import { devIndexResponse, listProcedures } from './pages/dev-index.ts';
import { createPageCookies } from './pages/page-session.ts';

/** The standalone server's root: regstack mounted as `auth`, so paths are `auth.login`, `auth.account.me`. */
export const standaloneRouter = t.router({ auth: regstackRouter });
export type StandaloneRouter = typeof standaloneRouter;

export interface FetchHandlerInfo {
  /** The TCP peer address, when the server adapter knows it (client IP for limits, R20). */
  remoteAddress?: string | null;
}

export type RegstackFetchHandler = (request: Request, info?: FetchHandlerInfo) => Promise<Response>;

export interface FetchHandlerDeps {
  config: RegstackConfig;
  runtime: RegstackRuntime;
  storage: Storage;
  logger: Logger;
  ipResolver: ClientIpResolver;
  /** Development mode (`regstack serve --dev`): `/` answers with an index of the endpoints and pages. */
  development?: boolean;
}

const BASE_HEADERS: Record<string, string> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

function withBaseHeaders(response: Response): Response {
  for (const [k, v] of Object.entries(BASE_HEADERS)) if (!response.headers.has(k)) response.headers.set(k, v);
  return response;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return withBaseHeaders(
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } }),
  );
}

/** A tRPC-shaped error body for requests refused before tRPC runs, so clients parse them the same way. */
function refusal(
  status: number,
  code: 'PAYLOAD_TOO_LARGE' | 'UNSUPPORTED_MEDIA_TYPE' | 'METHOD_NOT_ALLOWED',
  message: string,
  headers: Record<string, string> = {},
) {
  const trpcCode = { PAYLOAD_TOO_LARGE: -32013, UNSUPPORTED_MEDIA_TYPE: -32015, METHOD_NOT_ALLOWED: -32005 }[code];
  return json(
    status,
    { error: { json: { message, code: trpcCode, data: { regstackCode: code, httpStatus: status } } } },
    headers,
  );
}

/** Canonical path before matching (R20: `//trpc`, trailing slashes and case must not dodge a rule). */
function canonicalPath(pathname: string): string {
  return pathname.replace(/\/{2,}/g, '/').replace(/(.)\/+$/, '$1');
}

function underPrefix(path: string, prefix: string): boolean {
  const p = path.toLowerCase();
  const base = prefix.replace(/\/+$/, '').toLowerCase();
  return p === base || p.startsWith(`${base}/`);
}

/**
 * The answer to a method the resource at `pathname` does not take: 405 with `Allow` (`/healthz` and the pages
 * take GET and HEAD, the tRPC endpoint GET and POST), or 404 where there is no resource. The fetch handler
 * uses it, and so does the Node server for methods a fetch `Request` cannot even carry (TRACE, CONNECT, TRACK).
 */
export function methodRefusal(config: RegstackConfig, pathname: string, method: string): Response {
  const path = canonicalPath(pathname);
  if (path.toLowerCase() === '/healthz') {
    return json(405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
  }
  if (config.enableUiRouter) {
    const refusal = pageMethodRefusal(config, path, method);
    if (refusal) return refusal;
  }
  if (underPrefix(path, config.apiPrefix)) {
    return refusal(405, 'METHOD_NOT_ALLOWED', 'Only GET (queries) and POST (mutations) are accepted', {
      allow: 'GET, POST',
    });
  }
  return json(404, { error: 'not found' });
}

async function readLimited(request: Request, limit: number): Promise<Uint8Array<ArrayBuffer> | null> {
  const declared = Number(request.headers.get('content-length') ?? '');
  if (Number.isFinite(declared) && declared > limit) return null;
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

/**
 * tRPC `responseMeta` for any adapter: `Cache-Control: no-store` and the other base headers on every
 * response, and `Retry-After` when an error knows when to retry (lockout, rate limits, shedding). regstack's
 * own handler uses it; a host serving the router through its own tRPC adapter passes it too.
 */
export function regstackResponseMeta({ errors }: { errors: readonly TRPCError[] }): {
  headers: Record<string, string>;
} {
  const headers: Record<string, string> = { ...BASE_HEADERS };
  const retry = errors.map((e) => describeError(e).retryAfterSeconds).filter((s): s is number => typeof s === 'number');
  if (retry.length) headers['retry-after'] = String(Math.max(...retry));
  return { headers };
}

/** The pages' stylesheet (`enable_ui_router`), or null when `path` is not it. GET and HEAD only. */
function serveStatic(path: string, method: string, config: RegstackConfig): Response | null {
  const staticPrefix = config.staticPrefix.replace(/\/+$/, '');
  if (path !== `${staticPrefix}/regstack.css`) return null;
  if (method !== 'GET' && method !== 'HEAD') {
    return new Response('Method Not Allowed', { status: 405, headers: { allow: 'GET, HEAD', ...pageHeaders(config) } });
  }
  return new Response(method === 'HEAD' ? null : PAGES_CSS, {
    headers: {
      'content-type': 'text/css; charset=utf-8',
      'cache-control': 'public, max-age=3600',
      'x-content-type-options': 'nosniff',
    },
  });
}

/** 405 for a page or the stylesheet asked with a method it does not take; null when `path` is neither. */
function pageMethodRefusal(config: RegstackConfig, path: string, method: string): Response | null {
  const asset = serveStatic(path, method, config);
  if (asset) return asset.status === 405 ? asset : null;
  const allow = pageMethods(config.uiPrefix, path, config.enableAdminRouter, config.enableOauth);
  if (allow === null) return null;
  return new Response('Method Not Allowed', { status: 405, headers: { allow, ...pageHeaders(config) } });
}

export function createFetchHandler(deps: FetchHandlerDeps): RegstackFetchHandler {
  const { config, runtime, storage, logger, ipResolver } = deps;
  const apiPrefix = config.apiPrefix.replace(/\/+$/, '');
  const pages = config.enableUiRouter ? createAccountPages({ config, runtime, ipResolver }) : null;

  // `/healthz` is a readiness check: a database without this version's schema (an upgrade whose migrations
  // have not run) would fail requests, so it is not ready. Once current, it stays current for this process;
  // until then every check reads again, so it turns ready as soon as the migrations have run elsewhere.
  let schemaCurrent = false;
  let reportedMissing = '';
  async function schemaIsCurrent(): Promise<boolean> {
    if (schemaCurrent) return true;
    let state: SchemaState;
    try {
      state = await storage.schemaState();
    } catch (err) {
      logger.warn('could not read the database schema state', { err });
      return false;
    }
    if (state.current) {
      schemaCurrent = true;
      return true;
    }
    const missing = state.missing.join('; ');
    if (missing !== reportedMissing) {
      reportedMissing = missing;
      logger.warn('the database schema is behind this regstack: run regstack.installSchema() or `regstack migrate`', {
        missing,
      });
    }
    return false;
  }

  const oauthPrefix = config.oauthPrefix.replace(/\/+$/, '');
  const OAUTH_ROUTE = /^\/([a-z][a-z0-9_]{0,63})\/(start|callback)$/;
  const oauthCookies = createPageCookies(config);
  /** A binding value we minted (32 random bytes, base64url); anything else in the cookie is replaced. */
  const BINDING_SHAPE = /^[A-Za-z0-9_-]{43}$/;

  /** The provider sign-in routes; null when `path` is not one. */
  async function oauthRoute(request: Request, url: URL, path: string, info: FetchHandlerInfo) {
    if (!underPrefix(path, oauthPrefix)) return null;
    const match = OAUTH_ROUTE.exec(path.slice(oauthPrefix.length));
    if (!match) return json(404, { error: 'not found' });
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return json(405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
    }
    const ip = ipResolver.resolve(info.remoteAddress ?? null, request.headers.get('x-forwarded-for'));
    const meta = { ip, userAgent: request.headers.get('user-agent'), limitKey: ip ? ipResolver.limitKey(ip) : null };
    const [, provider = '', leg] = match;
    const held = oauthCookies.read(request).oauth;
    const existing = held && BINDING_SHAPE.test(held) ? held : null;
    const response = (location: string, cookie: string | null) => {
      const answer = withBaseHeaders(new Response(null, { status: 302, headers: { location } }));
      if (cookie) answer.headers.append('set-cookie', cookie);
      return answer;
    };
    if (leg === 'start') {
      const binding = existing ?? randomBytes(32).toString('base64url');
      const { location } = await runtime.services.oauth.start(
        provider,
        url.searchParams.get('redirect_to'),
        url.searchParams.get('link'),
        binding,
        meta,
      );
      return response(location, oauthCookies.setOAuthBinding(binding, config.oauth.stateTtlSeconds));
    }
    const { location, keepBinding } = await runtime.services.oauth.callback(provider, url, existing, meta);
    // Never shortened here: another tab's sign-in started with the same value may still be under way.
    const lifetime = Math.max(config.oauth.stateTtlSeconds, config.oauth.completionTtlSeconds + 60);
    return response(location, keepBinding && existing ? oauthCookies.setOAuthBinding(existing, lifetime) : null);
  }

  const handle: RegstackFetchHandler = async (request, info = {}) => {
    const url = new URL(request.url);
    const path = canonicalPath(url.pathname);

    if (path.toLowerCase() === '/healthz') {
      if (request.method !== 'GET' && request.method !== 'HEAD') return methodRefusal(config, path, request.method);
      try {
        await storage.ping();
      } catch {
        return json(503, { status: 'unavailable' }, { 'retry-after': '5' });
      }
      if (!(await schemaIsCurrent())) return json(503, { status: 'schema_outdated' }, { 'retry-after': '5' });
      return json(200, { status: 'ok', database: storage.kind });
    }

    if (pages) {
      const asset = serveStatic(path, request.method, config);
      if (asset) return asset;
      const page = await pages.handle(request, path, info.remoteAddress ?? null);
      if (page) return page;
    }

    if (config.enableOauth) {
      const oauth = await oauthRoute(request, url, path, info);
      if (oauth) return oauth;
    }

    // Development only: `/` lists what this server answers (pages/dev-index.ts); in production it stays a 404.
    if (deps.development && path === '/') {
      return devIndexResponse(request.method, config, listProcedures(standaloneRouter._def.record));
    }

    if (!underPrefix(path, apiPrefix)) return json(404, { error: 'not found' });
    if (request.method !== 'GET' && request.method !== 'POST') return methodRefusal(config, path, request.method);

    let body: Uint8Array<ArrayBuffer> | undefined;
    if (request.method === 'POST') {
      const type = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
      if (type !== 'application/json') {
        return refusal(415, 'UNSUPPORTED_MEDIA_TYPE', 'Use Content-Type: application/json');
      }
      const read = await readLimited(request, config.maxRequestBodyBytes);
      if (!read) return refusal(413, 'PAYLOAD_TOO_LARGE', `Request body exceeds ${config.maxRequestBodyBytes} bytes`);
      body = read;
    }
    if (url.search.length > config.maxRequestBodyBytes) {
      return refusal(413, 'PAYLOAD_TOO_LARGE', 'Query string too large');
    }

    const trpcRequest = new Request(`${url.origin}${apiPrefix}${path.slice(apiPrefix.length)}${url.search}`, {
      method: request.method,
      headers: request.headers,
      ...(body && { body }),
    });
    const ip = ipResolver.resolve(info.remoteAddress ?? null, request.headers.get('x-forwarded-for'));
    const response = await fetchRequestHandler({
      endpoint: apiPrefix,
      req: trpcRequest,
      router: standaloneRouter,
      allowMethodOverride: false,
      createContext: ({ resHeaders }): RegstackContext => ({
        regstack: {
          runtime,
          request: {
            ip,
            userAgent: request.headers.get('user-agent'),
            limitKey: ip ? ipResolver.limitKey(ip) : null,
          },
          headers: request.headers,
          resHeaders,
        },
      }),
      responseMeta: regstackResponseMeta,
      onError({ error, path: procedure }) {
        if (error instanceof TRPCError && error.code === 'INTERNAL_SERVER_ERROR') {
          // Log the underlying failure, not its generic INTERNAL_ERROR wrapper.
          let err: unknown = error.cause ?? error;
          if (RegstackError.is(err) && err.code === 'INTERNAL_ERROR' && err.cause) err = err.cause;
          logger.error('procedure failed', { procedure, err });
        }
      },
    });
    return withBaseHeaders(response);
  };
  // CORS (`cors_origins`) for the tRPC endpoint only: answered preflights never reach the router (cors.ts).
  const served = withCors(config.corsOrigins, (pathname) => underPrefix(canonicalPath(pathname), apiPrefix), handle);
  return async (request, info) => {
    const requestId = requestIdFor(request.headers.get('x-request-id'));
    const active = context.active();
    const parent = trace.getSpan(active) ? active : propagation.extract(active, request.headers, HEADER_GETTER);
    const response = await context.with(parent, () => runInRequest(requestId, () => served(request, info)));
    response.headers.set('x-request-id', requestId);
    return response;
  };
}

const HEADER_GETTER: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => {
    const names: string[] = [];
    headers.forEach((_, name) => {
      names.push(name);
    });
    return names;
  },
};
