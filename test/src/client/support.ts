/**
 * What the client suites share: a real regstack over a fresh SQLite file (the client's behaviour does not
 * depend on the backend, which the core suites cover on every database), the harness mailbox, free loopback
 * ports, Chromium for the browser suites, and an account's authenticator app enrolled through the client.
 */
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRegstackClient } from '@regstack/client';
import type { RegstackConfigInput } from '@regstack/server';
import { Secret, TOTP } from 'otpauth';
import { createTestDatabase, type TestDatabase } from '../harness/backends.ts';
import { chromiumSkipReason } from '../harness/chromium.ts';
import { startRegstack, type TestRegstack } from '../harness/regstack.ts';

export const PASSWORD = 'correct horse battery staple';

/** Per-client limits high enough for a suite that logs in from 127.0.0.1 many times (limits have their own suites). */
export const ROOMY_LIMITS: RegstackConfigInput = {
  loginRateLimit: '1000/minute',
  registerRateLimit: '1000/minute',
  verifyRateLimit: '1000/minute',
  resendVerificationRateLimit: '1000/minute',
};

export interface ClientStack extends TestRegstack {
  close(): Promise<void>;
}

export async function startClientStack(overrides: RegstackConfigInput = {}): Promise<ClientStack> {
  const db: TestDatabase = await createTestDatabase('sqlite', {});
  const t = await startRegstack(db.url, { ...ROOMY_LIMITS, ...overrides });
  return {
    ...t,
    async close() {
      await t.regstack.close();
      await db.drop();
    },
  };
}

/** The verification link from the newest mail to `email` (after the outbox has delivered it). */
export async function verificationLink(t: TestRegstack, email: string): Promise<string> {
  await t.regstack.settle();
  await t.regstack.drainOutbox();
  const message = t.mailbox.latest(email.toLowerCase());
  const link = message && /https?:\/\/\S+\/verify\?token=[A-Za-z0-9_%-]+/.exec(message.text)?.[0];
  if (!link) throw new Error(`no verification link mailed to ${email}`);
  return link;
}

/** A loopback port that was free a moment ago (for a server whose own config must name its URL). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export { CHROMIUM } from '../harness/chromium.ts';
/**
 * Browser suites run where Chromium is installed, and must run in CI (`.ci/setup.sh` installs it). Elsewhere
 * they skip, with the reason in their title and in the run's opening and closing lines.
 */
export const chromiumMissing = chromiumSkipReason() !== null;
/** Appended to a browser suite's title: says why it is skipped (empty when it runs). */
export const chromiumSkipNote = chromiumMissing ? ` (skipped: ${chromiumSkipReason()})` : '';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const TEST_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** test/.artifacts/<name> (git-ignored), with its directory created. */
export function artifactPath(name: string): string {
  const dir = join(TEST_ROOT, '.artifacts');
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}

export function repoPath(...parts: string[]): string {
  return join(TEST_ROOT, '..', ...parts);
}

let counter = 0;
/** A unique address per call within a run. */
export function uniqueEmail(label: string): string {
  counter += 1;
  return `${label}-${process.pid}-${counter}@example.com`;
}

/**
 * Signs `email` in through a new client at `url` and enables an authenticator app with the previous time step's code
 * (inside the ±1 window), which leaves the current step for a sign-in. `code(offsetMs)` is the app's code now.
 */
export async function enrolTotpThroughClient(url: string, email: string, password = PASSWORD) {
  const client = createRegstackClient({ url });
  await client.login({ email, password });
  const { secret } = await client.mfa.startTotp({ currentPassword: password });
  const code = (offsetMs = 0) => TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: Date.now() + offsetMs });
  const enabled = await client.mfa.confirmTotp({ code: code(-30_000) });
  return { client, code, enabled };
}
