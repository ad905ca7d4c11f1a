/**
 * Regstack instances in processes of their own over one database (instance-child.ts), reached over real HTTP: for
 * the multi-instance suites, where two instances in one process could agree through a shared module or cache
 * and hide a defect. The mail every instance delivers is gathered into one mailbox (any instance's outbox worker
 * may deliver a message another instance queued).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { EmailMessage, RegstackConfigInput } from '@regstack/server';
import { rawClient } from '../http/http-client.ts';
import { createMailbox, type Mailbox } from './regstack.ts';

const CHILD = fileURLToPath(new URL('./instance-child.ts', import.meta.url));

export interface InstanceProcess {
  /** The instance's base URL (http://127.0.0.1:port). */
  url: string;
  api: ReturnType<typeof rawClient>;
  pid: number;
  /** Drains its outbox; the mail it delivered since the last call. */
  drain(): Promise<EmailMessage[]>;
  close(): Promise<void>;
}

export async function startInstanceProcess(
  databaseUrl: string,
  overrides: RegstackConfigInput,
): Promise<InstanceProcess> {
  const { NODE_OPTIONS: _ignored, ...env } = process.env;
  const child: ChildProcess = fork(CHILD, [databaseUrl, JSON.stringify(overrides)], {
    execArgv: ['--conditions=@regstack/source', '--disable-warning=ExperimentalWarning'],
    env,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr = (stderr + String(d)).slice(-4000);
  });
  const pending = new Map<number, (reply: { mail: EmailMessage[]; error: string | null }) => void>();
  let nextId = 1;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`instance did not start within 60 s: ${stderr}`)), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`instance exited (${code}) before listening: ${stderr}`));
    });
    child.on('message', (message: { ready?: string; id?: number; mail?: EmailMessage[]; error?: string | null }) => {
      if (message.ready) {
        clearTimeout(timer);
        resolve(message.ready);
      } else if (message.id !== undefined) {
        pending.get(message.id)?.({ mail: message.mail ?? [], error: message.error ?? null });
        pending.delete(message.id);
      }
    });
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    url,
    api: rawClient(url),
    pid: child.pid ?? 0,
    drain: () =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, (reply) => (reply.error ? reject(new Error(reply.error)) : resolve(reply.mail)));
        child.send({ id, op: 'drain' });
      }),
    async close() {
      if (child.connected) child.send({ op: 'close' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Several instances over one database, and the mail all of them delivered. */
export interface Cluster {
  instances: InstanceProcess[];
  mailbox: Mailbox;
  /** Drains every instance's outbox until a new link for `page` to `to` has arrived (up to 10 s). */
  tokenFor(to: string, page: string): Promise<string>;
  close(): Promise<void>;
}

export async function startCluster(
  databaseUrl: string,
  overrides: RegstackConfigInput,
  count: number,
): Promise<Cluster> {
  // All at once: each installs the schema at start, as instances of a rolling deploy do.
  const settled = await Promise.allSettled(
    Array.from({ length: count }, () => startInstanceProcess(databaseUrl, overrides)),
  );
  const instances = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.all(instances.map((i) => i.close()));
    throw failed.reason;
  }
  const mailbox = createMailbox();
  const handedOut = new Set<string>();
  const collect = async () => {
    for (const mails of await Promise.all(instances.map((i) => i.drain()))) {
      for (const mail of mails) await mailbox.send(mail);
    }
  };
  return {
    instances,
    mailbox,
    async tokenFor(to, page) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        await collect();
        // A link not handed out before: an older one to the same address may have been used already.
        const token = mailbox.tokenFor(to, page);
        if (token && !handedOut.has(token)) {
          handedOut.add(token);
          return token;
        }
        if (Date.now() > deadline) throw new Error(`no new ${page} link to ${to} within 10 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    close: async () => {
      await Promise.all(instances.map((i) => i.close()));
    },
  };
}
