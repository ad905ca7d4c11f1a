/**
 * The load of the login-with-TOTP scenario (issue 18 item 10): `connections` lanes, each signing in back to back
 * — `POST auth.login` (must answer `mfa_required`), then `POST auth.mfa.confirmLogin { method: 'totp', code }` with
 * the code an authenticator app would show now (computed with `otpauth`, the library the server checks with). A
 * sign-in counts only when the second step answers 200 with an access token; every other answer is counted by
 * step, HTTP status and error code, and printed.
 *
 * Two steps with data from the first, so not autocannon: a closed loop of its own over `node:http` with a keep-alive
 * agent (a socket per lane), timed like the argon2 baseline (lanes start no new sign-in after `seconds`; the rate is
 * over the time until the last one finished). Not `fetch`: the load generator shares the machine's cores with the
 * server under test, and `fetch` spends several times the CPU of a plain request on each of the two requests
 * (WHATWG streams, Request/Response objects) — CPU the server then does not get, which the ratio would charge
 * to regstack. autocannon, scenario 3's load, is as lean.
 *
 * The replay guard accepts a time step once per user, so the pool hands each user out at most once per 30-second
 * step, with that step's code, and never to two lanes at once. A lane that finds every user spent for the step
 * waits for the next step; that wait is reported (`starvedMs`) — it means the run needs more users, and its
 * throughput is too low, not too high.
 */
import { Agent, request } from 'node:http';
import { Secret, TOTP } from 'otpauth';

const PERIOD_MS = 30_000;

interface PoolUser {
  email: string;
  secret: Secret;
  lastStep: number;
  busy: boolean;
}

/** The users of one server, with the step each last used: shared by every load against that server. */
export interface TotpUserPool {
  readonly size: number;
  take(step: number): PoolUser | undefined;
  give(user: PoolUser): void;
}

export function createTotpUserPool(users: Array<{ email: string; secret: string }>): TotpUserPool {
  const all: PoolUser[] = users.map((u) => ({
    email: u.email,
    secret: Secret.fromBase32(u.secret),
    lastStep: Number.NEGATIVE_INFINITY,
    busy: false,
  }));
  let cursor = 0;
  return {
    size: all.length,
    take(step) {
      for (let n = 0; n < all.length; n++) {
        const user = all[cursor]!;
        cursor = (cursor + 1) % all.length;
        if (!user.busy && user.lastStep < step) {
          user.busy = true;
          user.lastStep = step;
          return user;
        }
      }
      return undefined;
    },
    give(user) {
      user.busy = false;
    },
  };
}

export interface TotpLoadSpec {
  url: string;
  password: string;
  pool: TotpUserPool;
  connections: number;
  seconds: number;
}

export interface TotpLoadResult {
  /** Completed sign-ins (second step answered with an access token) per second. */
  perSecond: number;
  signIns: number;
  /** Sign-ins that did not complete, by `step status code` (e.g. `confirm 401 MFA_CODE_INVALID`). */
  failures: Record<string, number>;
  failed: number;
  seconds: number;
  /** Whole sign-in (both requests), completed ones only. */
  latencyMs: { p50: number; p99: number; max: number };
  /** Lane time spent waiting for a user whose step was unspent (should be 0). */
  starvedMs: number;
}

interface Poster {
  post(path: string, body: unknown): Promise<{ status: number; json: unknown }>;
  close(): void;
}

/** JSON POSTs to one server over `connections` kept-alive sockets. */
function poster(base: string, connections: number): Poster {
  const { hostname, port } = new URL(base);
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  return {
    post(path, body) {
      const payload = JSON.stringify({ json: body });
      return new Promise((resolve, reject) => {
        const req = request(
          {
            agent,
            hostname,
            port,
            path,
            method: 'POST',
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('error', reject);
            res.on('end', () => {
              let json: unknown;
              try {
                json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
              } catch {
                json = undefined;
              }
              resolve({ status: res.statusCode ?? 0, json });
            });
          },
        );
        req.on('error', reject);
        req.end(payload);
      });
    },
    close: () => agent.destroy(),
  };
}

function dataOf(json: unknown): Record<string, unknown> | undefined {
  return (json as { result?: { data?: { json?: Record<string, unknown> } } } | undefined)?.result?.data?.json;
}

function errorCodeOf(json: unknown): string {
  const error = (json as { error?: { json?: { data?: Record<string, unknown>; message?: string } } } | undefined)?.error
    ?.json;
  const code = error?.data?.regstackCode ?? error?.data?.code;
  return typeof code === 'string' ? code : 'no-code';
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function runTotpLoad(spec: TotpLoadSpec): Promise<TotpLoadResult> {
  const http = poster(spec.url, spec.connections);
  const post = http.post;
  const prefix = new URL(spec.url).pathname.replace(/\/$/, '');
  const loginUrl = `${prefix}/trpc/auth.login`;
  const confirmUrl = `${prefix}/trpc/auth.mfa.confirmLogin`;
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let starvedMs = 0;
  const fail = (key: string) => {
    failures[key] = (failures[key] ?? 0) + 1;
  };
  const started = performance.now();
  const deadline = started + spec.seconds * 1000;

  async function signIn(): Promise<void> {
    const now = Date.now();
    const step = Math.floor(now / PERIOD_MS);
    const user = spec.pool.take(step);
    if (!user) {
      const wait = (step + 1) * PERIOD_MS - now + 5;
      starvedMs += wait;
      await new Promise((resolve) => setTimeout(resolve, wait));
      return;
    }
    const t0 = performance.now();
    try {
      const login = await post(loginUrl, { email: user.email, password: spec.password });
      const challenge = dataOf(login.json);
      if (login.status !== 200 || challenge?.status !== 'mfa_required') {
        fail(`login ${login.status} ${login.status === 200 ? String(challenge?.status) : errorCodeOf(login.json)}`);
        return;
      }
      // The code of the step the user was taken for: the one an app shows now (±1 step is accepted).
      const code = TOTP.generate({ secret: user.secret, digits: 6, period: 30, timestamp: step * PERIOD_MS });
      const confirm = await post(confirmUrl, {
        mfaPendingToken: challenge.mfaPendingToken,
        method: 'totp',
        code,
      });
      const session = dataOf(confirm.json);
      if (confirm.status !== 200 || session?.status !== 'authenticated' || typeof session.accessToken !== 'string') {
        fail(`confirm ${confirm.status} ${errorCodeOf(confirm.json)}`);
        return;
      }
      latencies.push(performance.now() - t0);
    } catch (err) {
      fail(`socket ${(err as Error).message}`);
    } finally {
      spec.pool.give(user);
    }
  }

  async function lane(): Promise<void> {
    while (performance.now() < deadline) await signIn();
  }
  await Promise.all(Array.from({ length: spec.connections }, lane));
  const seconds = (performance.now() - started) / 1000;
  http.close();
  const sorted = latencies.sort((a, b) => a - b);
  const failed = Object.values(failures).reduce((a, b) => a + b, 0);
  return {
    perSecond: sorted.length / seconds,
    signIns: sorted.length,
    failures,
    failed,
    seconds,
    latencyMs: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? Number.NaN },
    starvedMs,
  };
}
