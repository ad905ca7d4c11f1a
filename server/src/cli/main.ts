#!/usr/bin/env node
/**
 * The `regstack` command line. Today: `serve` (a standalone server), `migrate` (install the schema) and `purge`
 * (remove expired rows). `init`, `create-admin` and `doctor` arrive with later work.
 */
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, ensureDevSecret, loadConfig, type RegstackConfigInput } from '../config/index.ts';
import { createRegstack } from '../create-regstack.ts';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number 0–65535');
  return n;
}

async function loadForCli(options: { config?: string; dev?: boolean }) {
  const production = process.env.NODE_ENV === 'production';
  if (options.dev && production) {
    throw new Error('--dev cannot be used with NODE_ENV=production');
  }
  if (!production) {
    // Development only: a missing JWT secret is generated into regstack.secrets.env (0600). In production
    // loadConfig refuses to start without one (SPEC §9).
    const { generated, secretsFile } = await ensureDevSecret({ configFile: options.config });
    if (generated) console.error(`regstack: generated a development JWT secret in ${secretsFile} (mode 0600)`);
  }
  // --dev: the link pages on, and email bodies (with their links) printed, so a newcomer can click through.
  const overrides: RegstackConfigInput = options.dev ? { enableUiRouter: true, email: { logBodies: true } } : {};
  return loadConfig({ configFile: options.config, overrides });
}

const program = new Command()
  .name('regstack')
  .description('Production-grade user accounts for your TypeScript app')
  .showHelpAfterError();

program
  .command('serve')
  .description('run a standalone regstack server (tRPC at /trpc, health at /healthz)')
  .option('-p, --port <port>', 'port to listen on', port, 8000)
  .option('-H, --host <host>', 'address to bind', '127.0.0.1')
  .option('-c, --config <file>', 'regstack.toml to read')
  .option('--dev', 'development defaults: the link pages on, email bodies (with their links) printed, an index at /')
  .action(async (opts: { port: number; host: string; config?: string; dev?: boolean }) => {
    const config = await loadForCli(opts);
    const regstack = await createRegstack({ config, development: opts.dev === true });
    await regstack.installSchema();
    const server = await regstack.listen({ port: opts.port, host: opts.host });
    console.error(
      `regstack: serving on ${server.url} (tRPC ${server.url}${config.apiPrefix}, database ${regstack.storage.description})`,
    );
    // Graceful stop (R72): answer what was received, then close regstack (outbox worker, database) and exit 0.
    // A second signal during the drain drops the connections still open at once.
    let stopping = false;
    const stop = async (signal: NodeJS.Signals) => {
      if (stopping) {
        console.error(`regstack: ${signal} again, closing the remaining connections now`);
        server.server.closeAllConnections();
        return;
      }
      stopping = true;
      console.error(
        `regstack: ${signal} received, draining requests (at most ${config.shutdownTimeoutSeconds} s) before exit`,
      );
      try {
        await server.close();
        await regstack.close();
      } catch (err) {
        console.error(`regstack: shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      }
      console.error('regstack: stopped');
      process.exit(0);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });

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

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (ConfigError.is(err)) console.error(err.message);
  else console.error(`regstack: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
