/**
 * Child process for weak-references.test.ts. Counts every `WeakRef` made and every `FinalizationRegistry`
 * registration through the global constructors while regstack serves requests: `auth.account.me` and
 * `auth.login` over real HTTP through `regstack.listen()`, and `me` through `createCaller`. That sees regstack's
 * code, its dependencies, and the undici inside Node (its `Request` registers itself when built with a
 * `signal`); Node's core modules use copies captured at start-up, so `AbortSignal.any`'s entries are not seen.
 * Each one would be a per-request entry that outlives its request by whole GC cycles (docs/embedding.md, "Steady load on Node").
 * The instruments go in before regstack or any of its dependencies is loaded.
 * argv[2]: the database URL. Prints one JSON line of counts.
 */
const counts = { weakRefs: 0, registrations: 0 };
const NativeWeakRef = globalThis.WeakRef;
globalThis.WeakRef = class CountedWeakRef<T extends WeakKey> extends NativeWeakRef<T> {
  constructor(target: T) {
    super(target);
    counts.weakRefs++;
  }
} as WeakRefConstructor;
const register = FinalizationRegistry.prototype.register;
FinalizationRegistry.prototype.register = function counted(this: FinalizationRegistry<unknown>, ...args) {
  counts.registrations++;
  return register.apply(this, args);
} as typeof register;

const databaseUrl = process.argv[2];
if (!databaseUrl) throw new Error('usage: weak-references-child.ts <database url>');
const { startRegstack, createVerifiedUser } = await import('../harness/regstack.ts');
const { Agent, request } = await import('node:http');
const t = await startRegstack(databaseUrl, { loginRateLimit: 'none' });
const { email, password } = await createVerifiedUser(t, `weak-${process.pid}@example.com`);
const server = await t.regstack.listen({ port: 0, host: '127.0.0.1' });

// The client side is node:http, not fetch: Node's fetch (undici) makes weak references of its own, in this
// same process, and they would be counted.
const agent = new Agent({ keepAlive: true, maxSockets: 10 });
function call(method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(`${server.url}/trpc/${path}`, { method, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
async function login(): Promise<string> {
  const res = await call(
    'POST',
    'auth.login',
    { 'content-type': 'application/json' },
    JSON.stringify({ json: { email, password } }),
  );
  if (res.status !== 200) throw new Error(`login answered ${res.status}: ${res.body}`);
  return JSON.parse(res.body).result.data.json.accessToken;
}
async function me(token: string): Promise<void> {
  const res = await call('GET', 'auth.account.me', { authorization: `Bearer ${token}` });
  if (res.status !== 200) throw new Error(`me answered ${res.status}: ${res.body}`);
}

// Warm-up, not counted: first-use caches, prepared statements, pools, the hashing process.
const token = await login();
for (let i = 0; i < 20; i++) await me(token);
await t.regstack.createCaller({ accessToken: token }).account.me();

const phases: Record<string, typeof counts> = {};
async function phase(name: string, run: () => Promise<unknown>) {
  counts.weakRefs = 0;
  counts.registrations = 0;
  await run();
  phases[name] = { ...counts };
}
await phase('meOverHttp', async () => {
  for (let i = 0; i < 100; i++) await me(token);
  await Promise.all(Array.from({ length: 50 }, () => me(token)));
});
await phase('loginOverHttp', async () => {
  for (let i = 0; i < 5; i++) await login();
});
await phase('meByCaller', async () => {
  const caller = t.regstack.createCaller({ accessToken: token });
  await Promise.all(Array.from({ length: 100 }, () => caller.account.me()));
});
// The instruments work: one of each, as a host's code might make them.
await phase('control', async () => {
  new FinalizationRegistry(() => {}).register({}, 'held');
  new WeakRef({});
});
agent.destroy();
await server.close();
await t.regstack.close();
console.log(JSON.stringify(phases));
