/**
 * better-auth 1.7 under test, in a child process of its own, configured as its documentation shows:
 * `betterAuth({ database: new Database(path), emailAndPassword: { enabled: true } })` over better-sqlite3,
 * the schema from its programmatic migrations (`getMigrations`), served with `toNodeHandler` on node:http.
 *
 * Departures from the defaults, each to compare like with like:
 * - SQLite in WAL mode, as regstack opens its SQLite database;
 * - its per-IP rate limiter off (it is on when NODE_ENV=production; regstack's `auth.account.me` has none),
 *   and telemetry off (no network calls from the bench);
 * - the session cookie cache stays at its default, off: `get-session` reads the session and the user from the
 *   database on every call, which is what regstack's `auth.account.me` does (R37).
 * Users sign up over HTTP like a browser would; the runner gets each one's `Cookie` header.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { toNodeHandler } from 'better-auth/node';
import Database from 'better-sqlite3';
import { announceReady } from '../lib/ipc.ts';
import { serveMeasuredServer } from '../lib/measured-server.ts';
import type { BenchCredential, BetterAuthReady } from '../lib/protocol.ts';

const databasePath = process.env.BENCH_SQLITE_PATH;
if (!databasePath) throw new Error('BENCH_SQLITE_PATH is required');
const userCount = Number(process.env.BENCH_USERS ?? '10');

let handler: ReturnType<typeof toNodeHandler> | undefined;
const server = createServer((req, res) => {
  if (!handler) {
    res.statusCode = 503;
    res.end();
    return;
  }
  void handler(req, res);
});
await new Promise<void>((resolve, reject) => {
  server.once('error', reject);
  server.listen(0, '127.0.0.1', () => resolve());
});
const address = server.address();
if (typeof address !== 'object' || !address) throw new Error('better-auth server has no address');
const baseURL = `http://127.0.0.1:${address.port}`;

const database = new Database(databasePath);
database.pragma('journal_mode = WAL');
const options = {
  baseURL,
  secret: randomBytes(32).toString('base64url'),
  database,
  emailAndPassword: { enabled: true },
  rateLimit: { enabled: false },
  telemetry: { enabled: false },
};
const { runMigrations } = await getMigrations(options);
await runMigrations();
const auth = betterAuth(options);
handler = toNodeHandler(auth);

/** Signs a user up over HTTP and returns the `Cookie` header its browser would send afterwards. */
async function signUp(index: number): Promise<BenchCredential> {
  const email = `ba-${index}-${randomBytes(4).toString('hex')}@bench.example.com`;
  const password = `${randomBytes(18).toString('base64url')}-Bench`;
  const response = await fetch(`${baseURL}/api/auth/sign-up/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: baseURL },
    body: JSON.stringify({ email, password, name: `Bench ${index}` }),
  });
  if (!response.ok) throw new Error(`better-auth sign-up failed: ${response.status} ${await response.text()}`);
  const cookie = response.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .filter((c): c is string => Boolean(c))
    .join('; ');
  if (!cookie.includes('session_token')) throw new Error('better-auth sign-up set no session cookie');
  const check = await fetch(`${baseURL}/api/auth/get-session`, { headers: { cookie } });
  const session = (await check.json()) as { user?: { email?: string } } | null;
  if (session?.user?.email !== email) throw new Error('better-auth get-session did not return the new user');
  return { email, password, token: cookie };
}

const users: BenchCredential[] = [];
for (let i = 0; i < userCount; i++) users.push(await signUp(i));

const packageJson = JSON.parse(
  await readFile(new URL('../../node_modules/better-auth/package.json', import.meta.url), 'utf8'),
) as { version: string };

serveMeasuredServer(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  database.close();
});

const ready: BetterAuthReady = {
  type: 'ready',
  kind: 'better-auth',
  url: baseURL,
  version: packageJson.version,
  users,
};
announceReady(ready);
