/**
 * The hashing process (argon2-process.ts): receives hash and verify requests from regstack's process over the
 * IPC channel, hands each to the `argon2` package — whose native jobs run on this process's libuv pool and
 * complete on this process's event loop — and sends the result back. argv[2] is the `nice` of the pool
 * threads. It keeps no state, logs nothing (requests carry passwords), and ends when its parent goes away.
 */
import { randomFill } from 'node:crypto';
import { hash as argon2Hash, argon2id, verify as argon2Verify } from 'argon2';
import type { Argon2Reply, Argon2Request } from './argon2-process.ts';
import { lowerPoolPriority } from './thread-priority.ts';

const send = process.send?.bind(process);
if (send === undefined) throw new Error('argon2-process.child.ts runs only as a forked child with an IPC channel');
const reply = (message: Argon2Reply | 'ready') => send(message);

async function run(request: Argon2Request): Promise<Argon2Reply> {
  switch (request.op) {
    case 'verify':
      return { id: request.id, ok: await argon2Verify(request.phc, request.password) };
    case 'hash': {
      const digest = await argon2Hash(request.password, {
        type: argon2id,
        version: request.version,
        memoryCost: request.memoryKib,
        timeCost: request.iterations,
        parallelism: request.parallelism,
        hashLength: request.hashLength,
        salt: Buffer.from(request.salt),
        raw: true,
      });
      return { id: request.id, digest };
    }
    case 'nice':
      lowerPoolPriority(request.nice);
      return { id: request.id, ok: true };
  }
}

process.on('message', (request: Argon2Request) => {
  run(request).then(reply, (err: unknown) => {
    // Only the library's message crosses back: never the request, which holds the password.
    reply({ id: request.id, error: err instanceof Error ? err.message : 'argon2 failed' });
  });
});
// The parent ended (or closed the channel): nothing can reach this process any more.
process.on('disconnect', () => process.exit(0));

// libuv starts all pool threads on the first job; one tiny job makes sure they exist before the priority is set.
await new Promise<void>((resolve) => randomFill(new Uint8Array(1), () => resolve()));
lowerPoolPriority(Number(process.argv[2] ?? 0));
reply('ready');
