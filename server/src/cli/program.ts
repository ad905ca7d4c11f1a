/**
 * The `regstack` command line, loaded by main.ts once the Node version is known to be supported. Today: `serve` (a
 * standalone server, serve.ts), `migrate` (install the schema), `purge` (remove expired rows) and `create-admin`
 * (create-admin.ts). `init` and `doctor` arrive with later work. Every failure ends as one line (or a configuration
 * error's list) on stderr and exit code 1, never a stack trace; a RegstackError's line ends with its stable code.
 */
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig } from '../config/index.ts';
import { createRegstack } from '../create-regstack.ts';
import { RegstackError } from '../errors/regstack-error.ts';
import { createAdmin } from './create-admin.ts';
import { DEFAULT_HOST, DEFAULT_PORT, parsePort, serve } from './serve.ts';

function port(value: string): number {
  const n = parsePort(value);
  if (n === undefined) throw new InvalidArgumentError('must be a port number 0–65535');
  return n;
}

const program = new Command()
  .name('regstack')
  .description('Production-grade user accounts for your TypeScript app')
  .showHelpAfterError();

program
  .command('serve')
  .description('run a standalone regstack server (tRPC at /trpc, health at /healthz)')
  .option('-p, --port <port>', `port to listen on (default: $PORT, else ${DEFAULT_PORT}; 0 picks a free one)`, port)
  .option('-H, --host <host>', `address to bind (default: $HOST, else ${DEFAULT_HOST}; 0.0.0.0 for every interface)`)
  .option('-c, --config <file>', 'regstack.toml to read')
  .option(
    '--dev',
    'development: the link pages on, email bodies (with their links) and SMS bodies (with their codes) printed, base_url following the listening address, an index at /',
  )
  .addHelpText(
    'after',
    '\nWithout --dev and with NODE_ENV=production, REGSTACK_JWT_SECRET and REGSTACK_BASE_URL (or their regstack.toml /\n' +
      'regstack.secrets.env keys) must be set. See docs/deployment.md.',
  )
  .action((opts: { port?: number; host?: string; config?: string; dev?: boolean }) => serve(opts));

program
  .command('migrate')
  .description('create or update the database schema (idempotent)')
  .option('-c, --config <file>', 'regstack.toml to read')
  .action(async (opts: { config?: string }) => {
    const config = await loadConfig({ configFile: opts.config });
    const regstack = await createRegstack({ config, startWorkers: false });
    await regstack.installSchema();
    console.error(`regstack: schema up to date on ${regstack.storage.description}`);
    await regstack.close();
  });

program
  .command('purge')
  .description('remove expired sessions, logout facts, links, sign-ups and old login attempts, in batches')
  .option('-c, --config <file>', 'regstack.toml to read')
  .option('--batch-size <rows>', 'rows per batch', (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new InvalidArgumentError('must be 1–100000');
    return n;
  })
  .action(async (opts: { config?: string; batchSize?: number }) => {
    const config = await loadConfig({ configFile: opts.config });
    const regstack = await createRegstack({ config, startWorkers: false });
    try {
      let last = 0;
      const result = await regstack.purge({
        ...(opts.batchSize !== undefined && { batchSize: opts.batchSize }),
        onProgress(counts) {
          const total = Object.values(counts).reduce((a, b) => a + b, 0);
          if (total - last >= 10_000) {
            last = total;
            console.error(`regstack: purged ${total} rows so far…`);
          }
        },
      });
      if (result.status === 'locked') {
        console.error('regstack: another instance is purging right now; nothing done');
        process.exitCode = 3;
        return;
      }
      for (const [kind, n] of Object.entries(result.counts)) console.error(`regstack: ${kind}: ${n} removed`);
    } finally {
      await regstack.close();
    }
  });

program
  .command('create-admin')
  .description('make an account an active, verified admin: create it, or promote the existing one (idempotent)')
  .requiredOption('--email <email>', "the admin's email address")
  .option('--full-name <name>', 'the name of a new account')
  .option('--password-stdin', 'read the password from stdin (one line), for scripts')
  .option(
    '--no-password',
    'no password: a new account gets none (its owner uses "forgot password"); an existing one is promoted as it is',
  )
  .option('-c, --config <file>', 'regstack.toml to read')
  .addHelpText(
    'after',
    '\nWithout --password-stdin or --no-password, the password is asked twice on the terminal, with no echo. A new\n' +
      "account's password must pass the registration policy; an existing account's password is never changed. See\n" +
      'docs/admin.md.',
  )
  .action((opts: { email: string; fullName?: string; passwordStdin?: boolean; password?: boolean; config?: string }) =>
    createAdmin(opts),
  );

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (ConfigError.is(err)) console.error(err.message);
  else if (RegstackError.is(err)) console.error(`regstack: ${err.message} (${err.code})`);
  else console.error(`regstack: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
