/**
 * A regstack instance in a process of its own (instance-process.ts starts it): real storage, real HTTP on
 * loopback, and nothing shared in memory with any other instance — what a deployment of N instances is.
 * argv[2]: the database URL; argv[3]: the configuration overrides as JSON (the same `jwt_secret` for every
 * instance goes there). Over the IPC channel it sends `{ ready: url }` once it listens, answers
 * `{ id, op: 'drain' }` with the mail it delivered since its last answer (after draining the outbox), and
 * closes on `{ op: 'close' }`.
 */
import type { EmailMessage } from '@regstack/server';
import { startRegstack } from './regstack.ts';

const [databaseUrl, overrides] = process.argv.slice(2);
if (!databaseUrl || !overrides || !process.send) throw new Error('usage: fork instance-child.ts <url> <json>');
const send = (message: unknown) => process.send?.(message);

const t = await startRegstack(databaseUrl, JSON.parse(overrides));
const server = await t.regstack.listen({ port: 0, host: '127.0.0.1' });
let reported = 0;
const mailSince = (): Pick<EmailMessage, 'to' | 'subject' | 'text'>[] => {
  const fresh = t.mailbox.messages.slice(reported).map(({ to, subject, text }) => ({ to, subject, text }));
  reported += fresh.length;
  return fresh;
};

process.on('message', async (message: { id?: number; op: 'drain' | 'close' }) => {
  if (message.op === 'drain') {
    // A drain that meets an outage says so; the parent asks again.
    const error = await t.regstack.drainOutbox().then(
      () => null,
      (err: unknown) => String(err),
    );
    send({ id: message.id, mail: mailSince(), error });
  } else if (message.op === 'close') {
    await server.close({ timeoutSeconds: 2 });
    await Promise.race([t.regstack.close(), new Promise((r) => setTimeout(r, 3000))]);
    process.exit(0);
  }
});
send({ ready: server.url });
