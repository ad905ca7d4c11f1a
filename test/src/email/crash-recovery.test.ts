/**
 * Durability of deferred mail across a crash, on every backend: the real `regstack serve` runs as a child
 * process; the moment it has acknowledged a forgot-password request it is killed with SIGKILL. Started
 * again over the same database, it must deliver that reset mail — exactly once — to a real SMTP server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { freePort } from '../harness/ferretdb.ts';
import { createVerifiedUser, startRegstack, TEST_SECRET } from '../harness/regstack.ts';
import { linkIn, startSmtpServer, type TestSmtpServer } from './smtp-test-server.ts';

const CLI = resolve(import.meta.dirname, '../../../server/src/cli/main.ts');
const SMTP_PASSWORD = 'crash-test-password';

describeEachBackend('outbox durability across SIGKILL', (ctx) => {
  let smtp: TestSmtpServer;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    smtp = await startSmtpServer({ starttls: false, users: { mailer: SMTP_PASSWORD } });
    // the account exists before the server under test ever starts
    const setup = await startRegstack(ctx.url);
    await createVerifiedUser(setup, 'crash@example.com');
    await setup.regstack.close();
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await smtp?.stop();
  });

  async function serve(port: number): Promise<ChildProcess> {
    const child = spawn(
      process.execPath,
      ['--conditions=@regstack/source', '--disable-warning=ExperimentalWarning', CLI, 'serve', '--port', String(port)],
      {
        env: {
          PATH: process.env.PATH ?? '',
          NODE_ENV: 'production',
          REGSTACK_JWT_SECRET: TEST_SECRET,
          REGSTACK_DATABASE_URL: ctx.url,
          REGSTACK_BASE_URL: 'https://accounts.example.test',
          REGSTACK_EMAIL__BACKEND: 'smtp',
          REGSTACK_EMAIL__SMTP_HOST: '127.0.0.1',
          REGSTACK_EMAIL__SMTP_PORT: String(smtp.port),
          REGSTACK_EMAIL__SMTP_STARTTLS: 'false',
          REGSTACK_EMAIL__SMTP_USERNAME: 'mailer',
          REGSTACK_EMAIL__SMTP_PASSWORD: SMTP_PASSWORD,
          REGSTACK_EMAIL__OUTBOX_LEASE_SECONDS: '2',
          REGSTACK_EMAIL__OUTBOX_POLL_INTERVAL_MS: '200',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    children.push(child);
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += String(d);
    });
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`regstack serve exited: ${stderr}`);
      try {
        if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return child;
      } catch {}
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`regstack serve did not start: ${stderr}`);
  }

  it('a reset request acknowledged just before SIGKILL is delivered exactly once after restart', async () => {
    const port = await freePort();
    const first = await serve(port);
    const exited = new Promise((r) => first.once('exit', r));
    const res = await fetch(`http://127.0.0.1:${port}/trpc/auth.forgotPassword`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ json: { email: 'crash@example.com' } }),
    });
    first.kill('SIGKILL'); // the instant the answer is in
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ result: { data: { json: { status: 'accepted' } } } });
    await exited;
    const before = smtp.messages.filter((m) => m.rcptTo.includes('crash@example.com')).length;

    await serve(port);
    const deadline = Date.now() + 30_000;
    const resets = () =>
      smtp.messages.filter((m) => m.rcptTo.includes('crash@example.com') && linkIn(m, 'reset') !== undefined);
    while (resets().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    // give a duplicate every chance to show up: several poll intervals and a lease period
    await new Promise((r) => setTimeout(r, 3000));
    expect(resets()).toHaveLength(1);
    expect(before).toBeLessThanOrEqual(1);
    // and the mailed link works
    const token = linkIn(resets()[0]!, 'reset')!.searchParams.get('token')!;
    const check = await startRegstack(ctx.url);
    try {
      await check.regstack.createCaller().resetPassword({ token, newPassword: 'a brand new passphrase 7' });
    } finally {
      await check.regstack.close();
    }
  });
});
