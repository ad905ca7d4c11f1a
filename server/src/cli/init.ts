/**
 * `regstack init` (issue 20 item 1): writes `regstack.toml` (commented, snake_case keys) and `regstack.secrets.env`
 * (mode 0600 from its first byte: a fresh JWT secret, and the SMTP password or a database URL holding a password).
 * Rules:
 *
 * - On a terminal it asks (@clack/prompts), each question defaulting to its flag or the default; with `--yes`, or
 *   without a terminal, it asks nothing and takes the flags — a script never hangs on a prompt nobody sees.
 * - The answers are validated by the configuration schema, and the database is reached, before anything is written.
 * - It never overwrites a file without `--force`; `--if-missing` makes an existing `regstack.toml` a quiet success.
 * - It never prints a secret (R62): the summary names the files and the keys written, never their values.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import * as prompts from '@clack/prompts';
import { parseConfig } from '../config/index.ts';
import { openConfiguredStorage } from '../create-regstack.ts';
import { parseDatabaseUrl, redactDatabaseUrl } from '../db/database-url.ts';
import { EXIT } from './exit-codes.ts';

export interface InitOptions {
  dir?: string | undefined;
  /** The TOML file to write. @default regstack.toml in `dir` */
  config?: string | undefined;
  baseUrl?: string | undefined;
  databaseUrl?: string | undefined;
  emailBackend?: 'console' | 'smtp' | 'ses' | undefined;
  fromAddress?: string | undefined;
  smtpHost?: string | undefined;
  smtpPort?: number | undefined;
  smtpUsername?: string | undefined;
  /** `--smtp-password-stdin`: the SMTP password, one line on stdin. */
  smtpPasswordStdin?: boolean | undefined;
  sesRegion?: string | undefined;
  smsBackend?: 'none' | 'console' | 'twilio' | 'sns' | undefined;
  snsRegion?: string | undefined;
  twilioAccountSid?: string | undefined;
  /** `--twilio-auth-token-stdin`: the Twilio auth token, one line on stdin. */
  twilioAuthTokenStdin?: boolean | undefined;
  smsFromNumber?: string | undefined;
  twilioMessagingServiceSid?: string | undefined;
  /** commander's `--pages` / `--no-pages`. */
  pages?: boolean | undefined;
  admin?: boolean | undefined;
  yes?: boolean | undefined;
  force?: boolean | undefined;
  ifMissing?: boolean | undefined;
}

interface Answers {
  baseUrl: string;
  databaseUrl: string;
  emailBackend: 'console' | 'smtp' | 'ses';
  fromAddress: string;
  smtpHost?: string | undefined;
  smtpPort: number;
  smtpUsername?: string | undefined;
  smtpPassword?: string | undefined;
  sesRegion: string;
  smsBackend: 'none' | 'console' | 'twilio' | 'sns';
  snsRegion: string;
  twilioAccountSid?: string | undefined;
  twilioAuthToken?: string | undefined;
  smsFromNumber?: string | undefined;
  twilioMessagingServiceSid?: string | undefined;
  pages: boolean;
  admin: boolean;
}

class Cancelled extends Error {}

function answer<T>(value: T): Exclude<T, symbol> {
  if (prompts.isCancel(value)) throw new Cancelled('cancelled; nothing was written');
  return value as Exclude<T, symbol>;
}

async function readStdinLine(flag: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
  const text = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (/[\r\n]/.test(text) || text === '') throw new Error(`${flag} expects the secret on one line`);
  return text;
}

function defaults(opts: InitOptions): Answers {
  return {
    baseUrl: opts.baseUrl ?? 'http://localhost:8000',
    databaseUrl: opts.databaseUrl ?? 'sqlite:./regstack.db',
    emailBackend: opts.emailBackend ?? 'console',
    fromAddress: opts.fromAddress ?? 'noreply@example.com',
    smtpHost: opts.smtpHost,
    smtpPort: opts.smtpPort ?? 587,
    smtpUsername: opts.smtpUsername,
    sesRegion: opts.sesRegion ?? 'eu-west-1',
    smsBackend: opts.smsBackend ?? 'none',
    snsRegion: opts.snsRegion ?? 'eu-west-1',
    twilioAccountSid: opts.twilioAccountSid,
    smsFromNumber: opts.smsFromNumber,
    twilioMessagingServiceSid: opts.twilioMessagingServiceSid,
    pages: opts.pages ?? true,
    admin: opts.admin ?? false,
  };
}

async function ask(start: Answers): Promise<Answers> {
  const a = { ...start };
  prompts.intro('regstack init');
  a.baseUrl = answer(
    await prompts.text({ message: 'Public URL of the accounts service (base_url)', initialValue: a.baseUrl }),
  );
  const kind = answer(
    await prompts.select({
      message: 'Database',
      initialValue: a.databaseUrl.startsWith('postgres')
        ? 'postgresql'
        : a.databaseUrl.startsWith('mongodb')
          ? 'mongodb'
          : 'sqlite',
      options: [
        { value: 'sqlite', label: 'SQLite file' },
        { value: 'postgresql', label: 'PostgreSQL' },
        { value: 'mongodb', label: 'MongoDB' },
      ],
    }),
  );
  const example = {
    sqlite: 'sqlite:./regstack.db',
    postgresql: 'postgresql://user:password@localhost:5432/regstack',
    mongodb: 'mongodb://localhost:27017/regstack',
  };
  a.databaseUrl = answer(
    await prompts.text({
      message: 'Database URL (database_url)',
      initialValue: a.databaseUrl.startsWith(String(kind)) ? a.databaseUrl : example[kind as keyof typeof example],
    }),
  );
  a.emailBackend = answer(
    await prompts.select({
      message: 'Email transport',
      initialValue: a.emailBackend,
      options: [
        { value: 'console' as const, label: 'console (prints mail; development)' },
        { value: 'smtp' as const, label: 'SMTP' },
        { value: 'ses' as const, label: 'Amazon SES' },
      ],
    }),
  );
  a.fromAddress = answer(
    await prompts.text({ message: 'Sender address (email.from_address)', initialValue: a.fromAddress }),
  );
  if (a.emailBackend === 'smtp') {
    a.smtpHost = answer(await prompts.text({ message: 'SMTP host', initialValue: a.smtpHost ?? '' }));
    a.smtpPort = Number(answer(await prompts.text({ message: 'SMTP port', initialValue: String(a.smtpPort) })));
    a.smtpUsername =
      answer(await prompts.text({ message: 'SMTP user (empty: no login)', initialValue: a.smtpUsername ?? '' })) ||
      undefined;
    if (a.smtpUsername) a.smtpPassword = answer(await prompts.password({ message: 'SMTP password' })) || undefined;
  } else if (a.emailBackend === 'ses') {
    a.sesRegion = answer(await prompts.text({ message: 'SES region', initialValue: a.sesRegion }));
  }
  a.smsBackend = answer(
    await prompts.select({
      message: 'SMS (for the SMS second factor)',
      initialValue: a.smsBackend,
      options: [
        { value: 'none' as const, label: 'none' },
        { value: 'console' as const, label: 'console (prints codes; development)' },
        { value: 'twilio' as const, label: 'Twilio' },
        { value: 'sns' as const, label: 'Amazon SNS' },
      ],
    }),
  );
  if (a.smsBackend === 'sns')
    a.snsRegion = answer(await prompts.text({ message: 'SNS region', initialValue: a.snsRegion }));
  if (a.smsBackend === 'twilio') {
    a.twilioAccountSid = answer(
      await prompts.text({ message: 'Twilio account SID (AC…)', initialValue: a.twilioAccountSid ?? '' }),
    );
    a.twilioAuthToken = answer(await prompts.password({ message: 'Twilio auth token' })) || undefined;
    const sender = answer(
      await prompts.text({
        message: 'Twilio sender: a number (+…) or a Messaging Service SID (MG…)',
        initialValue: a.twilioMessagingServiceSid ?? a.smsFromNumber ?? '',
      }),
    );
    if (sender.startsWith('MG')) a.twilioMessagingServiceSid = sender;
    else a.smsFromNumber = sender || undefined;
  }
  a.pages = answer(
    await prompts.confirm({ message: 'Serve the account pages (enable_ui_router)?', initialValue: a.pages }),
  );
  a.admin = answer(
    await prompts.confirm({ message: 'Enable the admin API (enable_admin_router)?', initialValue: a.admin }),
  );
  return a;
}

const q = (text: string) => JSON.stringify(text);

function hasPassword(url: string): boolean {
  try {
    return new URL(url).password !== '';
  } catch {
    return false;
  }
}

/** The TOML text: every key commented, secrets left to the secrets file. */
function tomlText(a: Answers): string {
  const lines = [
    '# regstack.toml — written by `regstack init`. Every key: docs/configuration.md. Secrets live in',
    '# regstack.secrets.env (mode 0600) or the environment, never here.',
    '',
    '# Public URL users reach; every link in mail is built from it (R28).',
    `base_url = ${q(a.baseUrl)}`,
    '',
    ...(hasPassword(a.databaseUrl)
      ? ['# database_url holds a password: it is in regstack.secrets.env as REGSTACK_DATABASE_URL.']
      : ['# sqlite:<file>, postgresql://…, mongodb://…', `database_url = ${q(a.databaseUrl)}`]),
    '',
    '# The account pages under /account (login, register, verify, reset…).',
    `enable_ui_router = ${a.pages}`,
    '# The admin API (auth.admin.*) for superusers; make the first one with `regstack create-admin`.',
    `enable_admin_router = ${a.admin}`,
    '',
    '[email]',
    '# console prints mail (development); smtp or ses deliver it.',
    `backend = ${q(a.emailBackend)}`,
    `from_address = ${q(a.fromAddress)}`,
  ];
  if (a.emailBackend === 'smtp') {
    lines.push(`smtp_host = ${q(a.smtpHost ?? '')}`, `smtp_port = ${a.smtpPort}`);
    if (a.smtpUsername) lines.push(`smtp_username = ${q(a.smtpUsername)}`, '# smtp_password: in regstack.secrets.env');
  }
  if (a.emailBackend === 'ses') lines.push(`ses_region = ${q(a.sesRegion)}`, '# credentials: the AWS default chain');
  lines.push('', '[sms]', `backend = ${q(a.smsBackend)}`);
  if (a.smsBackend === 'sns') lines.push(`sns_region = ${q(a.snsRegion)}`, '# credentials: the AWS default chain');
  if (a.smsBackend === 'twilio') {
    lines.push(`twilio_account_sid = ${q(a.twilioAccountSid ?? '')}`, '# twilio_auth_token: in regstack.secrets.env');
    if (a.twilioMessagingServiceSid) lines.push(`twilio_messaging_service_sid = ${q(a.twilioMessagingServiceSid)}`);
    if (a.smsFromNumber) lines.push(`from_number = ${q(a.smsFromNumber)}`);
  }
  return `${lines.join('\n')}\n`;
}

function secretsText(a: Answers, jwtSecret: string): string {
  const lines = [
    '# regstack.secrets.env — written by `regstack init`; keep out of version control (mode 0600).',
    `REGSTACK_JWT_SECRET=${jwtSecret}`,
  ];
  if (hasPassword(a.databaseUrl)) lines.push(`REGSTACK_DATABASE_URL=${a.databaseUrl}`);
  if (a.smtpPassword) lines.push(`REGSTACK_EMAIL__SMTP_PASSWORD=${a.smtpPassword}`);
  if (a.twilioAuthToken) lines.push(`REGSTACK_SMS__TWILIO_AUTH_TOKEN=${a.twilioAuthToken}`);
  return `${lines.join('\n')}\n`;
}

/** The database the answers name is reached (SQLite: its directory exists), before anything is written. */
async function reachDatabase(a: Answers, cwd: string, config: ReturnType<typeof parseConfig>): Promise<void> {
  const target = parseDatabaseUrl(a.databaseUrl, cwd);
  if (target.kind === 'sqlite') {
    if (target.path !== ':memory:' && !existsSync(dirname(target.path))) {
      throw new Error(`database_url: the directory of ${target.path} does not exist; create it first`);
    }
    return;
  }
  const storage = await openConfiguredStorage({ ...config, databaseConnectTimeoutMs: 5000 });
  await storage.close();
}

export async function init(opts: InitOptions): Promise<void> {
  const dir = resolve(opts.dir ?? '.');
  const tomlPath = opts.config ? resolve(dir, opts.config) : join(dir, 'regstack.toml');
  const secretsPath = join(dir, 'regstack.secrets.env');
  if (existsSync(tomlPath) && opts.ifMissing) {
    console.error(`regstack: ${tomlPath} exists; nothing done (--if-missing)`);
    return;
  }
  const existing = [tomlPath, secretsPath].filter((p) => existsSync(p));
  if (existing.length > 0 && !opts.force) {
    throw new Error(
      `${existing.join(' and ')} already exist${existing.length === 1 ? 's' : ''}; nothing written (use --force to replace, --if-missing to keep)`,
    );
  }
  const interactive = !opts.yes && process.stdin.isTTY === true && process.stdout.isTTY === true;
  let a = defaults(opts);
  try {
    if (interactive) a = await ask(a);
  } catch (err) {
    if (err instanceof Cancelled) {
      prompts.cancel(err.message);
      process.exitCode = EXIT.interrupted;
      return;
    }
    throw err;
  }
  if (opts.smtpPasswordStdin && opts.twilioAuthTokenStdin) {
    throw new Error('--smtp-password-stdin and --twilio-auth-token-stdin both read stdin: give one at a time');
  }
  if (!interactive && opts.smtpPasswordStdin) a.smtpPassword = await readStdinLine('--smtp-password-stdin');
  if (!interactive && opts.twilioAuthTokenStdin) a.twilioAuthToken = await readStdinLine('--twilio-auth-token-stdin');

  const jwtSecret = randomBytes(32).toString('base64url');
  // The schema judges the answers as the server will: a bad one stops here, with nothing written.
  const config = parseConfig({
    jwtSecret,
    baseUrl: a.baseUrl,
    databaseUrl: a.databaseUrl,
    enableUiRouter: a.pages,
    enableAdminRouter: a.admin,
    email: {
      backend: a.emailBackend,
      fromAddress: a.fromAddress,
      ...(a.emailBackend === 'smtp' && { smtpHost: a.smtpHost, smtpPort: a.smtpPort, smtpUsername: a.smtpUsername }),
      ...(a.emailBackend === 'ses' && { sesRegion: a.sesRegion }),
    },
    sms: {
      backend: a.smsBackend,
      ...(a.smsBackend === 'sns' && { snsRegion: a.snsRegion }),
      ...(a.smsBackend === 'twilio' && {
        twilioAccountSid: a.twilioAccountSid,
        twilioAuthToken: a.twilioAuthToken,
        twilioMessagingServiceSid: a.twilioMessagingServiceSid,
        fromNumber: a.smsFromNumber,
      }),
    },
  });
  await reachDatabase(a, dir, config);

  // wx unless --force: a file that appeared meanwhile is never replaced. The secrets file is 0600 from creation.
  const flag = opts.force ? 'w' : 'wx';
  await writeFile(secretsPath, secretsText(a, jwtSecret), { mode: 0o600, flag });
  await writeFile(tomlPath, tomlText(a), { flag });
  await chmod(secretsPath, 0o600); // --force over an existing file keeps its old mode otherwise

  const secretKeys = ['REGSTACK_JWT_SECRET (fresh, 256 bits)'];
  if (hasPassword(a.databaseUrl)) secretKeys.push('REGSTACK_DATABASE_URL');
  if (a.smtpPassword) secretKeys.push('REGSTACK_EMAIL__SMTP_PASSWORD');
  if (a.twilioAuthToken) secretKeys.push('REGSTACK_SMS__TWILIO_AUTH_TOKEN');
  const summary = [
    `regstack: wrote ${tomlPath} (database ${redactDatabaseUrl(a.databaseUrl)}, email ${a.emailBackend}, sms ${a.smsBackend})`,
    `regstack: wrote ${secretsPath} (mode 0600: ${secretKeys.join(', ')})`,
    'regstack: next: regstack doctor, then regstack serve',
  ];
  if (interactive) prompts.outro(summary.join('\n'));
  else console.error(summary.join('\n'));
}
