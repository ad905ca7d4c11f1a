/**
 * The `regstack` command line, loaded by main.ts once the Node version is known to be supported: `serve` (a
 * standalone server, serve.ts), `migrate`, `doctor`, `purge` (migrate.ts, doctor.ts, purge.ts) and `create-admin`
 * (create-admin.ts). Rules every command keeps (issue 20 item 7):
 *
 * - `-c, --config <file>` on every command that reads the configuration; `--help` with examples; `--version`.
 * - Exit codes from one table (exit-codes.ts): a failure is one line (or a configuration error's list) on stderr
 *   and 1, never a stack trace, a RegstackError's line ending with its stable code; calling it wrong (an unknown
 *   command or option, a bad argument) is 2, with commander's one-line reason and the usage.
 *
 * Every command and option is spelled out literally below: the docs check reads this file to validate the
 * `regstack …` lines in docs/ (test/src/docs/snippets.ts).
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { ConfigError } from '../config/index.ts';
import { RegstackError } from '../errors/regstack-error.ts';
import { createAdmin } from './create-admin.ts';
import { type DoctorOptions, doctor } from './doctor.ts';
import { EXIT, EXIT_CODES_HELP, Interrupted } from './exit-codes.ts';
import { type InitOptions, init } from './init.ts';
import { type MigrateOptions, migrate } from './migrate.ts';
import { type PurgeCliOptions, parseAge, purge } from './purge.ts';
import { DEFAULT_HOST, DEFAULT_PORT, parsePort, serve } from './serve.ts';
import { parseUrl, type ValidateOptions, validate } from './validate.ts';

/** The package's version: package.json is two levels up from both src/cli/ and dist/cli/. */
const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** A command's examples for its `--help`, one `$ regstack …` line each. */
function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}`;
}

function choice(values: string[]) {
  return (value: string): string => {
    if (!values.includes(value)) throw new InvalidArgumentError(`must be one of ${values.join(', ')}`);
    return value;
  };
}

function port(value: string): number {
  const n = parsePort(value);
  if (n === undefined) throw new InvalidArgumentError('must be a port number 0–65535');
  return n;
}

const program = new Command()
  .name('regstack')
  .description('Production-grade user accounts for your TypeScript app')
  .version(VERSION, '-V, --version', 'print the version of @regstack/server and exit')
  .showHelpAfterError('(add --help for the usage, examples and exit codes)')
  // Commander's own exits (help, version, usage errors) come back here as a CommanderError, so the exit code table
  // stays ours; inherited by every command added below.
  .exitOverride()
  .addHelpText(
    'after',
    `\nEvery command reads regstack.toml, regstack.secrets.env and REGSTACK_* variables; -c, --config <file> names\n` +
      `another TOML file. "regstack <command> --help" shows a command's options and examples. See docs/cli.md.\n` +
      examples(
        'regstack migrate --status',
        'NODE_ENV=production regstack serve --config /etc/regstack.toml',
        'regstack create-admin --email ops@example.com',
      ) +
      `\n\n${EXIT_CODES_HELP}`,
  );

program
  .command('init')
  .description('write regstack.toml and regstack.secrets.env (0600, a fresh JWT secret): asks on a terminal')
  .option('--dir <dir>', 'where to write the files', '.')
  .option('--base-url <url>', 'base_url: the public URL of the accounts service')
  .option('--database-url <url>', 'database_url (sqlite:…, postgresql://…, mongodb://…); reached before writing')
  .option('--email-backend <backend>', 'console, smtp or ses', choice(['console', 'smtp', 'ses']))
  .option('--from-address <email>', 'email.from_address')
  .option('--smtp-host <host>', 'email.smtp_host')
  .option('--smtp-port <port>', 'email.smtp_port', port)
  .option('--smtp-username <user>', 'email.smtp_username')
  .option('--smtp-password-stdin', 'read the SMTP password from stdin (one line)')
  .option('--ses-region <region>', 'email.ses_region')
  .option('--sms-backend <backend>', 'none, console, twilio or sns', choice(['none', 'console', 'twilio', 'sns']))
  .option('--sns-region <region>', 'sms.sns_region')
  .option('--twilio-account-sid <sid>', 'sms.twilio_account_sid')
  .option('--twilio-auth-token-stdin', 'read the Twilio auth token from stdin (one line)')
  .option('--sms-from-number <number>', 'sms.from_number (Twilio: the sender, unless a messaging service is given)')
  .option('--twilio-messaging-service-sid <sid>', 'sms.twilio_messaging_service_sid (MG…)')
  .option('--no-pages', 'do not serve the account pages (enable_ui_router = false)')
  .option('--admin', 'enable the admin API (enable_admin_router = true)')
  .option('-y, --yes', 'ask nothing: take the flags and defaults (what happens without a terminal too)')
  .option('--force', 'replace existing files')
  .option('--if-missing', 'do nothing (exit 0) when regstack.toml exists')
  .option('-c, --config <file>', 'the TOML file to write (default: regstack.toml in --dir)')
  .addHelpText(
    'after',
    '\nOn a terminal it asks for each setting (the flags give the defaults); with --yes or without a terminal it asks\n' +
      'nothing. The database is reached and the answers are validated before anything is written; a file is never\n' +
      'replaced without --force, and no secret is ever printed.\n' +
      examples(
        'regstack init',
        'regstack init --yes --database-url postgresql://app@db.internal/accounts --email-backend ses --base-url https://accounts.example.com',
        'printf \'%s\\n\' "$SMTP_PASSWORD" | regstack init --yes --email-backend smtp --smtp-host smtp.example.com --smtp-username app --smtp-password-stdin',
      ),
  )
  .action((opts: InitOptions) => init(opts));

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
      'regstack.secrets.env keys) must be set. See docs/deployment.md.\n' +
      examples('regstack serve --dev', 'PORT=8080 regstack serve --host 0.0.0.0 --config regstack.toml'),
  )
  .action((opts: { port?: number; host?: string; config?: string; dev?: boolean }) => serve(opts));

program
  .command('migrate')
  .description('create or update the database schema (idempotent); --status and --dry-run only read')
  .option('--status', 'list the applied and pending migrations (SQL) or indexes (MongoDB); changes nothing')
  .option('--dry-run', 'as --status, plus the statements the pending SQL migrations would run; changes nothing')
  .option('-c, --config <file>', 'regstack.toml to read')
  .addHelpText(
    'after',
    examples('regstack migrate', 'regstack migrate --status', 'regstack migrate --dry-run --config /etc/regstack.toml'),
  )
  .action((opts: MigrateOptions) => migrate(opts));

program
  .command('doctor')
  .description('check the configuration and what it reaches: one line per check (✓ ⚠ ✗), a fix for each ✗')
  .option('--json', 'print the checks as JSON on stdout (ok, failed, warnings, checks[])')
  .option('--send-test-email <to>', 'also send one real message to this address through the configured transport')
  .option('--check-dns', "also look up the SPF, DMARC and MX records of email.from_address's domain")
  .option('-c, --config <file>', 'regstack.toml to read')
  .addHelpText(
    'after',
    '\nChecks: the configuration loads and every key is known; the JWT secret is strong (and not a development one\n' +
      'with NODE_ENV=production); base_url is https in production; the database answers (latency) and its schema is\n' +
      'current; the mail transport accepts a connection and the credentials; SMS settings when enable_sms_2fa is on;\n' +
      "this machine's clock; the argon2 cost per hash here. Nothing is changed. Exit 1 when a check failed.\n" +
      examples(
        'regstack doctor',
        'NODE_ENV=production regstack doctor --check-dns --config /etc/regstack.toml',
        'regstack doctor --send-test-email ops@example.com',
        'regstack doctor --json',
      ),
  )
  .action((opts: DoctorOptions) => doctor(opts));

program
  .command('purge')
  .description(
    'remove expired sessions, logout facts, links, sign-ups, old login attempts, delivered mail and audit events past audit_retention_days, in batches',
  )
  .option('--dry-run', 'count what would be removed, per table; remove nothing (and take no lock)')
  .option('--older-than <age>', 'only rows past mattering for at least this long: 30m, 12h, 7d, 2w', parseAge)
  .option('--batch-size <rows>', 'rows per batch (each batch is its own short transaction)', (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new InvalidArgumentError('must be 1–100000');
    return n;
  })
  .option('-c, --config <file>', 'regstack.toml to read')
  .addHelpText(
    'after',
    '\nOne instance purges at a time (the purge lock, shared with the background purge of purge_interval_seconds):\n' +
      'another one exits 3 without doing anything. See docs/purge.md.\n' +
      examples(
        'regstack purge',
        'regstack purge --dry-run',
        'regstack purge --older-than 7d --batch-size 500 --config regstack.toml',
      ),
  )
  .action((opts: PurgeCliOptions) => purge(opts));

program
  .command('validate')
  .description('probe a live deployment from outside: /healthz, HTTPS, headers, Cache-Control, CORS, error bodies')
  .argument('<url>', 'the public URL of the deployment, e.g. https://accounts.example.com', parseUrl)
  .option('--json', 'print the checks as JSON on stdout (ok, failed, warnings, checks[])')
  .option('--origin <origin>', 'an origin the deployment should allow (one of its cors_origins)')
  .option('--api-prefix <path>', 'the tRPC endpoint path (api_prefix)', '/trpc')
  .option('--timeout <ms>', 'time allowed per request', (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 100 || n > 120_000) throw new InvalidArgumentError('must be 100–120000');
    return n;
  })
  .addHelpText(
    'after',
    '\nIt reads no configuration (it sees the deployment as a browser does) and changes nothing: every request it\n' +
      'sends is refused before an account is touched. Exit 1 when a check failed.\n' +
      examples(
        'regstack validate https://accounts.example.com',
        'regstack validate https://accounts.example.com --origin https://app.example.com --json',
      ),
  )
  .action((url: URL, opts: ValidateOptions) => validate(url, opts));

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
      'docs/admin.md.\n' +
      examples(
        'regstack create-admin --email ops@example.com --full-name "Ops Team"',
        'printf \'%s\\n\' "$ADMIN_PASSWORD" | regstack create-admin --email ops@example.com --password-stdin',
        'regstack create-admin --email colleague@example.com --no-password',
      ),
  )
  .action((opts: { email: string; fullName?: string; passwordStdin?: boolean; password?: boolean; config?: string }) =>
    createAdmin(opts),
  );

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander has printed the help, the version or the usage error already. Help asked for (exit code 0) is a
    // success; help shown because no command was given, like any other usage error, is not.
    process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  }
  if (err instanceof Interrupted) {
    console.error(`regstack: ${err.message}`);
    process.exit(EXIT.interrupted);
  }
  if (ConfigError.is(err)) console.error(err.message);
  else if (RegstackError.is(err)) console.error(`regstack: ${err.message} (${err.code})`);
  else console.error(`regstack: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(EXIT.failure);
}
