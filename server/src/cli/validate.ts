/**
 * `regstack validate <url>` (issue 20 item 6): probes a live deployment from outside, as a browser or an attacker
 * would, and reports like `doctor` (report.ts): `/healthz`; HTTPS (http:// redirected to https://, HSTS); the
 * security headers and `Cache-Control: no-store` on API answers (R59); CORS (a foreign origin is never allowed to
 * read, credentials never with `*`; an origin given with `--origin` is); error answers (unknown path, malformed
 * and invalid input) that are 4xx, never 500, and whose bodies leak nothing — no stack trace, source path, driver
 * or SQL text. It reads no configuration and sends nothing that changes state: the inputs it posts are refused
 * before any account is touched.
 */
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from 'commander';
import { type CheckResult, printReport } from './report.ts';

export interface ValidateOptions {
  json?: boolean | undefined;
  /** The tRPC endpoint's path. @default '/trpc' */
  apiPrefix?: string | undefined;
  /** An origin the deployment should allow (one of its `cors_origins`). */
  origin?: string | undefined;
  /** Milliseconds per request. */
  timeout?: number | undefined;
}

/** Origin that no deployment lists: a reflected or wildcard-with-credentials answer to it is a hole. */
const FOREIGN_ORIGIN = 'https://regstack-validate.invalid';
const DEFAULT_TIMEOUT_MS = 10_000;

/** What an error body must never contain (R62 and "errors are typed, never internals"). */
const LEAKS: [RegExp, string][] = [
  [/\n\s+at \S+ \(|\n\s+at (?:async )?\S+:\d+:\d+/, 'a stack trace'],
  [/node_modules|\/src\/\S+\.[jt]s|\b\S+\.[cm]?[jt]s:\d+/, 'a source path'],
  [
    /SQLITE_|syntax error at or near|violates \w+ constraint|MikroORM|MongoServerError|E11000|ECONNREFUSED/,
    'database or driver text',
  ],
  [/"stack"\s*:/, 'a "stack" field'],
];

export function parseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError('must be an absolute http(s) URL such as https://accounts.example.com');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new InvalidArgumentError('must be http(s)');
  return url;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

interface Probe {
  status: number;
  headers: Headers;
  body: string;
}

export async function runValidate(target: URL, opts: ValidateOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const base = target.origin + target.pathname.replace(/\/+$/, '');
  const api = `${base}${(opts.apiPrefix ?? '/trpc').replace(/\/+$/, '')}`;
  const timeout = opts.timeout ?? DEFAULT_TIMEOUT_MS;
  const probe = async (url: string, init: RequestInit = {}): Promise<Probe> => {
    const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(timeout), ...init });
    return { status: res.status, headers: res.headers, body: await res.text() };
  };
  const failed = (err: unknown) =>
    err instanceof Error ? (err.cause as Error | undefined)?.message || err.message : String(err);

  // 1. Health.
  try {
    const health = await probe(`${base}/healthz`);
    results.push(
      health.status === 200
        ? { check: 'healthz', status: 'ok', message: `200 ${health.body.trim().slice(0, 80)}` }
        : {
            check: 'healthz',
            status: 'fail',
            message: `answered ${health.status} ${health.body.trim().slice(0, 120)}`,
            fix: '503: the database is unreachable or its schema is behind (run "regstack doctor" there); 404: the URL or a proxy rule is wrong',
          },
    );
  } catch (err) {
    results.push({
      check: 'healthz',
      status: 'fail',
      message: `${base}/healthz cannot be reached: ${failed(err)}`,
      fix: 'check the URL, DNS, the proxy and that regstack serve is running',
    });
    return results; // nothing else can be probed
  }

  // 2. HTTPS.
  if (target.protocol === 'https:') {
    try {
      const plain = await probe(`http://${target.host}${target.pathname}`);
      const location = plain.headers.get('location') ?? '';
      results.push(
        plain.status >= 300 && plain.status < 400 && location.startsWith('https://')
          ? { check: 'https', status: 'ok', message: `http:// is redirected (${plain.status}) to ${location}` }
          : {
              check: 'https',
              status: 'fail',
              message: `http://${target.host} answers ${plain.status} instead of redirecting to https://`,
              fix: 'redirect every plain-HTTP request to https:// at the proxy (301 or 308)',
            },
      );
    } catch {
      results.push({
        check: 'https',
        status: 'ok',
        message: 'nothing answers plain http:// (only https:// is served)',
      });
    }
  } else {
    results.push(
      isLoopback(target.hostname)
        ? { check: 'https', status: 'warn', message: `${target.origin} is plain http (acceptable on loopback only)` }
        : {
            check: 'https',
            status: 'fail',
            message: `${target.origin} is plain http: passwords and tokens would cross the network in clear`,
            fix: 'serve it over https behind a TLS-terminating proxy, and probe the https:// URL',
          },
    );
  }

  // 3. Headers of an API answer (an unauthenticated call: refused, so nothing changes).
  try {
    const me = await probe(`${api}/auth.me`);
    const missing: string[] = [];
    if (me.headers.get('x-content-type-options')?.toLowerCase() !== 'nosniff')
      missing.push('X-Content-Type-Options: nosniff');
    if (!me.headers.get('referrer-policy')) missing.push('Referrer-Policy');
    const frame = me.headers.get('x-frame-options') ?? '';
    const csp = me.headers.get('content-security-policy') ?? '';
    if (!/deny|sameorigin/i.test(frame) && !/frame-ancestors/i.test(csp))
      missing.push('X-Frame-Options (or CSP frame-ancestors)');
    results.push(
      missing.length === 0
        ? { check: 'headers', status: 'ok', message: 'nosniff, Referrer-Policy and framing protection are sent' }
        : {
            check: 'headers',
            status: 'fail',
            message: `${api}/auth.me lacks ${missing.join(', ')}`,
            fix: 'do not strip these headers at the proxy (regstack sends them itself, R59)',
          },
    );
    if (target.protocol === 'https:') {
      const hsts = me.headers.get('strict-transport-security') ?? '';
      const maxAge = Number(/max-age=(\d+)/i.exec(hsts)?.[1] ?? 0);
      results.push(
        maxAge >= 15_552_000
          ? { check: 'hsts', status: 'ok', message: hsts }
          : {
              check: 'hsts',
              status: 'warn',
              message: hsts
                ? `Strict-Transport-Security max-age ${maxAge} is under 180 days`
                : 'no Strict-Transport-Security header',
              fix: 'add "Strict-Transport-Security: max-age=31536000; includeSubDomains" at the TLS proxy',
            },
      );
    }
    const cache = me.headers.get('cache-control') ?? '';
    results.push(
      /no-store/i.test(cache)
        ? { check: 'cache-control', status: 'ok', message: `API answers carry "${cache}"` }
        : {
            check: 'cache-control',
            status: 'fail',
            message: `API answers carry ${cache ? `"${cache}"` : 'no Cache-Control'}: a shared cache may keep account data`,
            fix: 'do not override Cache-Control at the proxy or CDN for the API path (regstack sends no-store)',
          },
    );
    if (me.headers.get('x-powered-by')) {
      results.push({
        check: 'headers',
        status: 'warn',
        message: `X-Powered-By: ${me.headers.get('x-powered-by')} tells the stack to anyone`,
        fix: 'remove X-Powered-By in the host framework or at the proxy',
      });
    }
  } catch (err) {
    results.push({
      check: 'headers',
      status: 'fail',
      message: `${api}/auth.me: ${failed(err)}`,
      fix: 'check --api-prefix',
    });
  }

  // 4. CORS.
  const preflight = (origin: string) =>
    probe(`${api}/auth.login`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
  try {
    const foreign = await preflight(FOREIGN_ORIGIN);
    const allowed = foreign.headers.get('access-control-allow-origin');
    const credentials = foreign.headers.get('access-control-allow-credentials') === 'true';
    if (allowed === FOREIGN_ORIGIN || (allowed === '*' && credentials) || allowed === 'null') {
      results.push({
        check: 'cors',
        status: 'fail',
        message: `a foreign origin (${FOREIGN_ORIGIN}) is allowed: Access-Control-Allow-Origin: ${allowed}${credentials ? ', with credentials' : ''}`,
        fix: 'list exactly your front-end origins in cors_origins, and never reflect the request Origin at the proxy',
      });
    } else {
      results.push({
        check: 'cors',
        status: 'ok',
        message: allowed === '*' ? 'any origin may call without credentials ("*")' : 'a foreign origin is not allowed',
      });
    }
    if (opts.origin) {
      const own = await preflight(opts.origin);
      const answer = own.headers.get('access-control-allow-origin');
      results.push(
        answer === opts.origin || answer === '*'
          ? { check: 'cors', status: 'ok', message: `${opts.origin} is allowed` }
          : {
              check: 'cors',
              status: 'fail',
              message: `${opts.origin} is not allowed (preflight ${own.status}, Access-Control-Allow-Origin: ${answer ?? 'none'})`,
              fix: `add "${opts.origin}" to cors_origins`,
            },
      );
    }
  } catch (err) {
    results.push({
      check: 'cors',
      status: 'fail',
      message: `preflight failed: ${failed(err)}`,
      fix: 'check --api-prefix and the proxy',
    });
  }

  // 5. Error answers: refused before anything is touched, typed, and leaking nothing.
  const post = (body: string) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const cases: [string, string, RequestInit][] = [
    ['an unknown path', `${base}/regstack-validate-${randomBytes(6).toString('hex')}`, {}],
    ['an unknown procedure', `${api}/auth.noSuchProcedure`, {}],
    ['malformed JSON', `${api}/auth.login`, post('{"json":{"email":')],
    ['invalid input', `${api}/auth.login`, post(JSON.stringify({ json: { email: 'not an email', password: 42 } }))],
  ];
  for (const [what, url, init] of cases) {
    try {
      const answer = await probe(url, init);
      const leaks = LEAKS.filter(([pattern]) => pattern.test(answer.body)).map(([, name]) => name);
      if (answer.status >= 500) {
        results.push({
          check: 'errors',
          status: 'fail',
          message: `${what} answered ${answer.status}: a client mistake must be a 4xx with a typed code`,
          fix: 'look at the server log for this request; regstack answers these with 400/404 (a proxy or host code may not)',
        });
      } else if (leaks.length > 0) {
        results.push({
          check: 'errors',
          status: 'fail',
          message: `${what} (${answer.status}): the body holds ${leaks.join(' and ')}`,
          fix: 'run in production mode (NODE_ENV=production) and never put internals in error responses',
        });
      } else {
        results.push({
          check: 'errors',
          status: 'ok',
          message: `${what}: ${answer.status}, nothing internal in the body`,
        });
      }
    } catch (err) {
      results.push({ check: 'errors', status: 'fail', message: `${what}: ${failed(err)}`, fix: 'check the proxy' });
    }
  }
  return results;
}

export async function validate(url: URL, opts: ValidateOptions): Promise<void> {
  const results = await runValidate(url, opts);
  printReport(
    results,
    opts.json === true,
    opts.json ? undefined : `regstack validate ${url.origin}${url.pathname.replace(/\/+$/, '')}`,
  );
}
