/**
 * The ceiling for login throughput: the `argon2` package verifying one argon2id hash in a loop, with the same
 * parameters regstack uses (`BENCH_ARGON2_M/T/P`, default m=19456 KiB, t=2, p=1) and `inFlight` verifications
 * outstanding at all times — the same concurrency as the login load's connections — on a libuv pool of a thread
 * per core (lib/argon2-baseline.ts), as regstack's hashing process has. No HTTP, no database, no semaphore: the
 * machine's raw KDF rate. It runs in a child process like the servers, so it competes for
 * the cores on the same terms and never with the runner's event loop.
 */
import { argon2id, hash, verify } from 'argon2';
import { announceReady, serveCommands } from '../lib/ipc.ts';
import type { Argon2Ready, Argon2RunResult } from '../lib/protocol.ts';

const params = {
  memoryKib: Number(process.env.BENCH_ARGON2_M ?? '19456'),
  iterations: Number(process.env.BENCH_ARGON2_T ?? '2'),
  parallelism: Number(process.env.BENCH_ARGON2_P ?? '1'),
};
const password = 'correct horse battery staple, benchmark edition';
const phc = await hash(password, {
  type: argon2id,
  memoryCost: params.memoryKib,
  timeCost: params.iterations,
  parallelism: params.parallelism,
  hashLength: 32,
});

/** Verifies for `seconds`, keeping `inFlight` calls outstanding; counts the verifications that finished. */
async function run(seconds: number, inFlight: number): Promise<Argon2RunResult> {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let verifies = 0;
  async function lane(): Promise<void> {
    while (performance.now() < deadline) {
      if (!(await verify(phc, password))) throw new Error('argon2 verify rejected the right password');
      verifies += 1;
    }
  }
  await Promise.all(Array.from({ length: inFlight }, lane));
  const elapsed = (performance.now() - started) / 1000;
  return { verifies, seconds: elapsed, perSecond: verifies / elapsed };
}

serveCommands({
  'argon2:run': (request) => run(request.seconds, request.inFlight),
  shutdown() {
    setImmediate(() => process.exit(0));
  },
});

const ready: Argon2Ready = {
  type: 'ready',
  kind: 'argon2',
  argon2: params,
  poolThreads: Number(process.env.UV_THREADPOOL_SIZE ?? '4'),
};
announceReady(ready);
