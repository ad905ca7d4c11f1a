/**
 * Runs the example host: regstack over `./host-app.db` (SQLite), console email, the built React page at
 * `/`, tRPC at `/trpc`.
 *
 *   pnpm --filter @regstack/example-react-page build
 *   pnpm --filter @regstack/example-host-app start            # fetch handler under Hono
 *   pnpm --filter @regstack/example-host-app start -- --node  # plain node:http server
 *   pnpm --filter @regstack/example-host-app start -- --admin you@example.com  # that account becomes an admin
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRegstack, ensureDevSecret, loadConfig } from '@regstack/server';
import { createHostApp } from './app.ts';
import { serveFetch, serveNode } from './serve.ts';

const { values } = parseArgs({
  // `pnpm start -- --node` passes the `--` along.
  args: process.argv.slice(2).filter((arg, i) => !(i === 0 && arg === '--')),
  options: {
    node: { type: 'boolean', default: false },
    port: { type: 'string', default: '3000' },
    admin: { type: 'string' },
  },
});
const port = Number(values.port);
const baseUrl = `http://localhost:${port}`;

await ensureDevSecret();
const regstack = await createRegstack({
  config: await loadConfig({
    overrides: {
      databaseUrl: 'sqlite:./host-app.db',
      baseUrl,
      // The React page handles `/account/verify?token=…` itself (the default `ui_prefix` is `/account`).
      email: { logBodies: true },
      // The page shows superusers an admin table on `auth.admin.*`.
      enableAdminRouter: true,
    },
  }),
});
await regstack.installSchema();
if (values.admin) {
  // Without a password, bootstrapAdmin promotes an existing account as it is (register it in the page first;
  // an address with no account gets one with no password, to be set through "forgot password").
  const { status } = await regstack.bootstrapAdmin({ email: values.admin });
  console.log(`${values.admin} is an admin (${status})`);
}

const app = createHostApp(regstack, {
  staticDir: fileURLToPath(new URL('../../react-page/dist', import.meta.url)),
});
const server = await (values.node ? serveNode : serveFetch)(app, { port, host: '127.0.0.1' });
console.log(`host app (${values.node ? 'node:http' : 'fetch handler on Hono'}) on ${baseUrl}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    await server.close();
    await regstack.close();
    process.exit(0);
  });
}
