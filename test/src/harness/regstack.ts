/**
 * A real regstack instance over a suite's database, for the behavioural suites: real storage, real argon2,
 * real tokens. Mail goes to `mailbox` — a transport like any host's custom one (an object with `send`),
 * which records what the outbox delivered so tests can read links out of real messages.
 */
import { randomBytes } from 'node:crypto';
import {
  type Clock,
  createRegstack,
  type EmailMessage,
  type EmailTransport,
  parseConfig,
  type Regstack,
  type RegstackConfigInput,
  silentLogger,
} from '@regstack/server';

export const TEST_SECRET = randomBytes(32).toString('base64url');

export interface Mailbox extends EmailTransport {
  readonly messages: EmailMessage[];
  /** The newest message to `to` (optionally of a subject matching `subject`). */
  latest(to: string, subject?: RegExp): EmailMessage | undefined;
  /** The `token` query parameter of the first link in the newest message to `to`. */
  tokenFor(to: string, page: string): string | undefined;
}

export function createMailbox(): Mailbox {
  const messages: EmailMessage[] = [];
  return {
    messages,
    async send(message) {
      messages.push(message);
    },
    latest(to, subject) {
      return [...messages].reverse().find((m) => m.to === to && (!subject || subject.test(m.subject)));
    },
    tokenFor(to, page) {
      for (const m of [...messages].reverse()) {
        if (m.to !== to) continue;
        // With the pages off (the default here) the reset link is the host's `/reset-password` (Python regstack's path).
        const path = page === 'reset' ? 'reset(?:-password)?' : page;
        const match = new RegExp(`/${path}\\?token=([A-Za-z0-9_-]+)`).exec(m.text);
        if (match) return match[1];
      }
      return undefined;
    },
  };
}

export interface TestRegstack {
  regstack: Regstack;
  mailbox: Mailbox;
}

export async function startRegstack(
  databaseUrl: string,
  overrides: RegstackConfigInput = {},
  extra: { clock?: Clock; sms?: { send(message: { to: string; body: string }): Promise<void> } } = {},
): Promise<TestRegstack> {
  const config = parseConfig({
    jwtSecret: TEST_SECRET,
    databaseUrl,
    baseUrl: 'https://accounts.example.test',
    hashQueueLimit: 256,
    ...overrides,
  });
  const mailbox = createMailbox();
  const regstack = await createRegstack({
    config,
    email: mailbox,
    logger: silentLogger,
    ...(extra.clock && { clock: extra.clock }),
    ...(extra.sms && { sms: extra.sms }),
  });
  await regstack.installSchema();
  return { regstack, mailbox };
}

/** Registers and verifies an account through the real procedures; returns its credentials. */
export async function createVerifiedUser(
  t: TestRegstack,
  email: string,
  password = 'correct horse battery staple',
): Promise<{ email: string; password: string }> {
  const caller = t.regstack.createCaller();
  await caller.register({ email, password });
  await t.regstack.drainOutbox();
  const token = t.mailbox.tokenFor(email.toLowerCase(), 'verify');
  if (!token) throw new Error(`no verification mail for ${email}`);
  await caller.verifyEmail({ token });
  return { email, password };
}
