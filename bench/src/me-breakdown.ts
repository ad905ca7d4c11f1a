/**
 * `pnpm --filter @regstack/bench run breakdown` — where the time of one `auth.account.me` goes, in-process
 * (no HTTP), step by step, on SQLite and PostgreSQL: the whole authentication, the tRPC caller, an
 * entity-manager fork, each of the three repository reads, and the same three reads as raw prepared
 * statements on the bare driver — the floor an ORM-free path could reach. A diagnostic for when scenario 1 or
 * 2 of `pnpm bench` misses its goal; like the bench, it prints ratios and absolute figures, never asserts.
 *
 * Each step runs sequentially (one call at a time: µs per call, mostly CPU on the main thread) and then with
 * BENCH_CONNECTIONS calls in flight (calls per second, what a loaded server sees).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegstack, type EmailMessage, parseConfig, silentLogger } from '@regstack/server';
import { createRepositories } from '@regstack/server/internal';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createBenchDatabase } from './lib/postgres.ts';
import { readSettings } from './lib/settings.ts';

const settings = readSettings();
const SEQUENTIAL_CALLS = Number(process.env.BENCH_BREAKDOWN_CALLS ?? '2000');
const CONCURRENT_MS = 2000;

interface StepResult {
  step: string;
  usPerCall: number;
  perSecond: number;
}

async function measure(step: string, call: () => Promise<unknown>): Promise<StepResult> {
  for (let i = 0; i < 200; i++) await call();
  const t0 = performance.now();
  for (let i = 0; i < SEQUENTIAL_CALLS; i++) await call();
  const usPerCall = ((performance.now() - t0) * 1000) / SEQUENTIAL_CALLS;
  let calls = 0;
  const t1 = performance.now();
  const deadline = t1 + CONCURRENT_MS;
  await Promise.all(
    Array.from({ length: settings.connections }, async () => {
      while (performance.now() < deadline) {
        await call();
        calls += 1;
      }
    }),
  );
  const perSecond = calls / ((performance.now() - t1) / 1000);
  return { step, usPerCall, perSecond };
}

type RawReads = {
  session(id: string): Promise<unknown>;
  revoked(userId: string, sessionId: string): Promise<unknown>;
  user(id: string): Promise<unknown>;
  close(): Promise<void>;
};

/** The three reads of `authenticate`, as prepared statements on the bare driver (same tables, same indexes). */
function rawSqlite(path: string): RawReads {
  const db = new Database(path);
  const session = db.prepare('select * from sessions where id = ? and expires_at > ?');
  const revoked = db.prepare(
    'select id from revocations where user_id = ? and (id = ? or (session_id is null and revoked_at >= ?)) limit 1',
  );
  const user = db.prepare('select * from users where id = ?');
  return {
    async session(id) {
      return session.get(id, Date.now());
    },
    async revoked(userId, sessionId) {
      return revoked.get(userId, `s:${sessionId}`, 0);
    },
    async user(id) {
      return user.get(id);
    },
    async close() {
      db.close();
    },
  };
}

function rawPostgres(url: string): RawReads {
  const pool = new pg.Pool({ connectionString: url, max: settings.connections });
  return {
    async session(id) {
      return (
        await pool.query({
          name: 'session',
          text: 'select * from sessions where id = $1 and expires_at > $2',
          values: [id, new Date()],
        })
      ).rows[0];
    },
    async revoked(userId, sessionId) {
      return (
        await pool.query({
          name: 'revoked',
          text: 'select id from revocations where user_id = $1 and (id = $2 or (session_id is null and revoked_at >= $3)) limit 1',
          values: [userId, `s:${sessionId}`, new Date(0)],
        })
      ).rows[0];
    },
    async user(id) {
      return (await pool.query({ name: 'user', text: 'select * from users where id = $1', values: [id] })).rows[0];
    },
    close: () => pool.end(),
  };
}

async function breakdown(backend: 'sqlite' | 'postgres', databaseUrl: string, raw: () => RawReads) {
  const messages: EmailMessage[] = [];
  const regstack = await createRegstack({
    config: parseConfig({ jwtSecret: randomBytes(32).toString('base64url'), databaseUrl, baseUrl: 'http://127.0.0.1' }),
    email: {
      async send(m) {
        messages.push(m);
      },
    },
    logger: silentLogger,
  });
  await regstack.installSchema();
  const email = `breakdown-${randomBytes(4).toString('hex')}@bench.example.com`;
  const password = `${randomBytes(18).toString('base64url')}-Bench`;
  const caller = regstack.createCaller();
  await caller.register({ email, password });
  await regstack.drainOutbox();
  const token = /[?&]token=([A-Za-z0-9_-]+)/.exec(messages.at(-1)?.text ?? '')?.[1];
  if (!token) throw new Error('no verification mail');
  await caller.verifyEmail({ token });
  const login = await caller.login({ email, password });
  if (login.status !== 'authenticated') throw new Error('login did not authenticate');
  const headers = { authorization: `Bearer ${login.accessToken}` };
  const auth = await regstack.authenticate(headers);
  const userId = auth.user.id;
  const sessionId = auth.sessionId;
  const me = regstack.createCaller({ accessToken: login.accessToken });
  const { storage } = regstack;
  const rawReads = raw();
  // The raw statements must find the same rows, or they would be measuring cheaper misses.
  if (!(await rawReads.session(sessionId)) || !(await rawReads.user(userId))) {
    throw new Error(`${backend}: the raw statements do not find the session and user rows`);
  }

  const results: StepResult[] = [];
  const step = async (name: string, call: () => Promise<unknown>) => {
    const r = await measure(name, call);
    results.push(r);
    console.log(
      `  ${backend.padEnd(8)} ${name.padEnd(44)} ${r.usPerCall.toFixed(0).padStart(6)} µs/call  ${r.perSecond.toFixed(0).padStart(7)} calls/s (${settings.connections} in flight)`,
    );
  };
  await step('caller.account.me() (tRPC, no HTTP)', () => me.account.me());
  await step('regstack.authenticate() (JWT + lookup)', () => regstack.authenticate(headers));
  await step('storage.fork() + createRepositories()', async () => createRepositories(storage.fork(), storage.dialect));
  const repos = () => createRepositories(storage.fork(), storage.dialect);
  await step('  sessions.findUnexpired (MikroORM)', () => repos().sessions.findUnexpired(sessionId, new Date()));
  await step('  revocations.isRevoked (MikroORM)', () => repos().revocations.isRevoked(userId, sessionId, new Date(0)));
  await step('  users.findById (MikroORM)', () => repos().users.findById(userId));
  await step('  the 3 reads, one fork (MikroORM)', async () => {
    const r = repos();
    await r.sessions.findUnexpired(sessionId, new Date());
    await r.revocations.isRevoked(userId, sessionId, new Date(0));
    await r.users.findById(userId);
  });
  await step('  the 3 reads, raw prepared statements', async () => {
    await rawReads.session(sessionId);
    await rawReads.revoked(userId, sessionId);
    await rawReads.user(userId);
  });
  // Again at the end: the first step also pays for warming the JIT and the statement caches.
  await step('caller.account.me() again', () => me.account.me());
  await rawReads.close();
  await regstack.close();
  return results;
}

const tmp = await mkdtemp(join(tmpdir(), 'regstack-breakdown-'));
try {
  console.log(`auth.account.me, step by step (in-process, ${SEQUENTIAL_CALLS} sequential calls per step)`);
  if (settings.backends.includes('sqlite')) {
    const path = join(tmp, 'regstack.db');
    await breakdown('sqlite', `sqlite:${path}`, () => rawSqlite(path));
  }
  if (settings.backends.includes('postgres')) {
    const db = await createBenchDatabase(settings.pgUrl);
    try {
      await breakdown('postgres', db.url, () => rawPostgres(db.url));
    } finally {
      await db.drop();
    }
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}
