/**
 * The regstack server under test, in a child process of its own. One regstack instance over
 * `BENCH_DATABASE_URL`, served two ways at once:
 *
 * - **host** — what SPEC §3 tells an app to do: a host tRPC router `{ ping, auth: regstackRouter }` (its own
 *   `initTRPC` with the same superjson transformer and regstack's error formatter) on @trpc/server's Node
 *   adapter, every request's context built by `regstack.createContext`. `ping` and `auth.account.me` then
 *   share the adapter, the transformer and the context builder; the only difference between the two requests is
 *   the procedure, so their ratio is the price of regstack's authentication alone.
 * - **standalone** — `regstack.listen()`, regstack's own server (its fetch handler: path canonicalisation,
 *   body limits, security headers, then tRPC's fetch adapter), so the bench also shows what `pnpm start` and
 *   `regstack.fetchHandler` users pay on top.
 *
 * Production settings except one: the per-IP login limits are off (`loginRateLimit` and, for the second step of a
 * sign-in with a code, `loginMfaConfirmRateLimit`: 'none'), because every request of the bench comes from
 * 127.0.0.1 and would be refused after 20 per minute. Lockout stays on; the
 * bench only ever uses correct passwords, one user per connection, so no login ever counts as a failure.
 * Users go through the real register → verify-email flow; the runner gets their passwords and access tokens.
 * `BENCH_REGSTACK_CONFIG` (JSON) adds regstack options for what-if runs; the bench's figures never set it.
 *
 * With `BENCH_ADMIN_SEED=n` (the admin-list scenario) the database also gets n users by bulk insert
 * (lib/seed-users.ts) before the servers listen, and a superuser made with `regstack.bootstrapAdmin`, signed in
 * through `auth.login`; the runner gets its access token and the seeding time. Those servers turn the admin
 * procedures on (`enableAdminRouter`, off by default). With `BENCH_TOTP_USERS=n` (the login-with-TOTP scenario)
 * it gets n users with a confirmed authenticator app, bulk-inserted (servers/totp-users.ts); with
 * `BENCH_SCALE_SEED=n` (bench at scale) n bulk-inserted users who can sign in (servers/scale-users.ts).
 */
import { randomBytes } from 'node:crypto';
import {
  createJsonLogger,
  createRegstack,
  type EmailMessage,
  type EmailTransport,
  formatRegstackError,
  parseConfig,
  type RegstackConfigInput,
  type RegstackContext,
} from '@regstack/server';
import {
  createNodeServer,
  defaultHashConcurrency,
  nameTerms,
  newId,
  parseDatabaseUrl,
} from '@regstack/server/internal';
import { initTRPC } from '@trpc/server';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { argon2id, hash } from 'argon2';
import superjson from 'superjson';
import { announceReady } from '../lib/ipc.ts';
import { serveMeasuredServer } from '../lib/measured-server.ts';
import type { AdminSeed, BenchCredential, RegstackReady } from '../lib/protocol.ts';
import { SEED_RARE_SEARCH, SEED_SEARCH, seedPostgres, seedSqlite } from '../lib/seed-users.ts';
import { seedScaleUsers } from './scale-users.ts';
import { seedTotpUsers } from './totp-users.ts';

// What-if runs only (BENCH_ABORT_SIGNAL_ANY=trpc-fallback): @trpc/server looks `AbortSignal.any` up on every
// request and falls back to its own listener-based combination when it is missing. Nothing else in this process
// calls it. The bench's figures leave it alone.
if (process.env.BENCH_ABORT_SIGNAL_ANY === 'trpc-fallback') {
  delete (AbortSignal as { any?: unknown }).any;
}

const databaseUrl = process.env.BENCH_DATABASE_URL;
if (!databaseUrl) throw new Error('BENCH_DATABASE_URL is required');
const usersPerRole = Number(process.env.BENCH_USERS ?? '10');

/** A mail transport that keeps messages, so the bench can follow verification links like a user would. */
function createMailbox(): EmailTransport & { tokenFor(to: string): string | undefined } {
  const messages: EmailMessage[] = [];
  return {
    async send(message) {
      messages.push(message);
    },
    tokenFor(to) {
      for (const m of [...messages].reverse()) {
        if (m.to !== to) continue;
        const match = /[?&]token=([A-Za-z0-9_-]+)/.exec(m.text);
        if (match) return match[1];
      }
      return undefined;
    },
  };
}

// What-if runs only (BENCH_REGSTACK_CONFIG); the bench's own figures use regstack's defaults.
const overrides = JSON.parse(process.env.BENCH_REGSTACK_CONFIG ?? '{}') as RegstackConfigInput;
const config = parseConfig({
  jwtSecret: randomBytes(32).toString('base64url'),
  databaseUrl,
  baseUrl: 'http://127.0.0.1:8000',
  loginRateLimit: 'none',
  // The same for the second step of a sign-in with a code (the login-with-TOTP scenario).
  loginMfaConfirmRateLimit: 'none',
  // The admin procedures are off by default (enable_admin_router); the admin-list scenario's servers need them.
  ...(process.env.BENCH_ADMIN_SEED && { enableAdminRouter: true }),
  ...overrides,
});
const mailbox = createMailbox();
// No outbox worker: createRegstack would start it before installSchema, and its first pass on a fresh database
// logs "relation email_outbox does not exist". The bench sends no mail under load; sign-up drains explicitly.
const regstack = await createRegstack({
  config,
  email: mailbox,
  logger: createJsonLogger({ level: 'warn' }),
  startWorkers: false,
});
await regstack.installSchema();
const caller = regstack.createCaller();
const runId = randomBytes(4).toString('hex');

// ── The admin-list scenario's users: bulk-inserted before anything listens, then one superuser. ─────────────
async function seedForAdminList(count: number): Promise<AdminSeed> {
  const started = performance.now();
  // One hash for every seeded user, of a password nobody knows, at regstack's parameters.
  const passwordHash = await hash(randomBytes(24).toString('base64url'), {
    type: argon2id,
    memoryCost: config.argon2MemoryKib,
    timeCost: config.argon2Iterations,
    parallelism: config.argon2Parallelism,
  });
  // The newest seeded sign-up a week ago: the superuser, made now, heads the list.
  const plan = { count, passwordHash, newestMs: Date.now() - 7 * 86_400_000 };
  const target = parseDatabaseUrl(config.databaseUrl);
  if (target.kind === 'sqlite') seedSqlite(target.path, plan, newId, nameTerms);
  else if (target.kind === 'postgresql') await seedPostgres(target.clientUrl, plan);
  else throw new Error(`BENCH_ADMIN_SEED: cannot seed a ${target.kind} database`);
  const seedSeconds = (performance.now() - started) / 1000;
  const email = `superuser-${runId}@bench.example.com`;
  const password = `${randomBytes(18).toString('base64url')}-Bench`;
  await regstack.bootstrapAdmin({ email, password });
  const login = await caller.login({ email, password });
  if (login.status !== 'authenticated') throw new Error('the bench superuser did not authenticate');
  return { users: count, seedSeconds, token: login.accessToken, search: SEED_SEARCH, rareSearch: SEED_RARE_SEARCH };
}
const admin = process.env.BENCH_ADMIN_SEED ? await seedForAdminList(Number(process.env.BENCH_ADMIN_SEED)) : undefined;
const totp = process.env.BENCH_TOTP_USERS
  ? await seedTotpUsers(config, Number(process.env.BENCH_TOTP_USERS), runId, caller)
  : undefined;
const scale = process.env.BENCH_SCALE_SEED
  ? await seedScaleUsers(
      config,
      Number(process.env.BENCH_SCALE_SEED),
      Number(process.env.BENCH_SCALE_CONNECTIONS),
      caller,
    )
  : undefined;

// ── The host app: its own initTRPC, regstack nested as `auth`, plus the bare `ping` baseline. ───────────────
const host = initTRPC.context<RegstackContext>().create({
  transformer: superjson,
  errorFormatter: formatRegstackError,
  isDev: false,
});
const hostRouter = host.router({
  ping: host.procedure.query(() => 'pong'),
  auth: regstack.router,
});
// What-if runs only (BENCH_HOST_ADAPTER=fetch): the same host router served through tRPC's fetch adapter, each
// Node request turned into a `Request` without an abort signal (as `regstack.listen()` does), instead of tRPC's
// standalone adapter, which builds every `Request` with one (and so registers it in undici's FinalizationRegistry).
const hostServer =
  process.env.BENCH_HOST_ADAPTER === 'fetch'
    ? createNodeServer((request, info) =>
        fetchRequestHandler({
          endpoint: '/trpc',
          req: request,
          router: hostRouter,
          createContext: ({ resHeaders }) =>
            regstack.createContext({ req: request, resHeaders, remoteAddress: info?.remoteAddress ?? null }),
        }),
      )
    : createHTTPServer({
        router: hostRouter,
        basePath: '/trpc/',
        createContext: ({ req }) => regstack.createContext({ req }),
      });
await new Promise<void>((resolve, reject) => {
  hostServer.once('error', reject);
  hostServer.listen(0, '127.0.0.1', () => resolve());
});
const hostAddress = hostServer.address();
if (typeof hostAddress !== 'object' || !hostAddress) throw new Error('host server has no address');
const standalone = await regstack.listen({ port: 0, host: '127.0.0.1' });

// ── Users, through the real flows. ───────────────────────────────────────────────────────────────────────
async function createUser(role: string, index: number): Promise<BenchCredential> {
  const email = `${role}-${index}-${runId}@bench.example.com`;
  const password = `${randomBytes(18).toString('base64url')}-Bench`;
  await caller.register({ email, password });
  await regstack.drainOutbox();
  const token = mailbox.tokenFor(email);
  if (!token) throw new Error(`no verification mail for ${email}`);
  await caller.verifyEmail({ token });
  const login = await caller.login({ email, password });
  if (login.status !== 'authenticated') throw new Error(`login of ${email} did not authenticate`);
  return { email, password, token: login.accessToken };
}

const meUsers: BenchCredential[] = [];
const loginUsers: BenchCredential[] = [];
for (let i = 0; i < usersPerRole; i++) {
  meUsers.push(await createUser('me', i));
  loginUsers.push(await createUser('login', i));
}

serveMeasuredServer(async () => {
  await Promise.all([new Promise<void>((resolve) => hostServer.close(() => resolve())), standalone.close()]);
  await regstack.close();
});

const ready: RegstackReady = {
  type: 'ready',
  kind: 'regstack',
  hostUrl: `http://127.0.0.1:${hostAddress.port}`,
  standaloneUrl: standalone.url,
  meUsers,
  loginUsers,
  argon2: {
    memoryKib: config.argon2MemoryKib,
    iterations: config.argon2Iterations,
    parallelism: config.argon2Parallelism,
    hashConcurrency: config.hashConcurrency ?? defaultHashConcurrency(config.argon2MemoryKib),
  },
  ...(admin && { admin }),
  ...(totp && { totp }),
  ...(scale && { scale }),
};
announceReady(ready);
