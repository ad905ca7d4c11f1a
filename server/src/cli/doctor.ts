/**
 * `regstack doctor [--json] [--send-test-email TO] [--check-dns]` (issue 20 item 2): checks a deployment's
 * configuration and what it reaches, one line per check — ✓ fine, ⚠ worth a look, ✗ broken, each ✗ with the fix —
 * and exits 1 when any check failed (EXIT.failure), else 0. Rules:
 *
 * - It changes nothing: it opens the database and reads (ping, schema state, the server's clock), verifies the mail
 *   transport without sending, and sends a message only with `--send-test-email`.
 * - Never a secret in its output (R62): the database URL is shown redacted, the JWT secret only by its strength,
 *   configuration messages are the loader's (which never quote a secret value).
 * - A check that cannot run because an earlier one failed (no configuration, no database) is not reported as passed.
 */
import { Resolver } from 'node:dns/promises';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { resolveSourcePaths } from '../config/config-sources.ts';
import { ConfigError, type ConfigIssue } from '../config/index.ts';
import { type ConfigWithoutSecret, loadConfigWithoutSecret } from '../config/load-config.ts';
import { isGeneratedDevSecret } from '../config/secrets.ts';
import { openConfiguredStorage } from '../create-regstack.ts';
import { parseDatabaseUrl } from '../db/database-url.ts';
import { databaseServerTime } from '../db/server-time.ts';
import type { Storage } from '../db/storage.ts';
import type { EmailTransport } from '../email/transport.ts';
import { createTransportFromConfig, fromHeaderOf } from '../email/transport-from-config.ts';
import { silentLogger } from '../logger.ts';
import { measureHashCostMs } from '../security/hash-cost.ts';
import { type CheckResult, printReport } from './report.ts';

export interface DoctorOptions {
  config?: string | undefined;
  json?: boolean | undefined;
  /** `--send-test-email <to>`: deliver one real message through the configured transport. */
  sendTestEmail?: string | undefined;
  checkDns?: boolean | undefined;
}

/** Below this many estimated bits a JWT secret fails (R32 asks for 256 bits of CSPRNG output). */
const MIN_SECRET_BITS = 128;
/** The argon2 cost band outside which a warning is given, in ms per hash. */
const HASH_COST_BAND_MS = [20, 500] as const;
/** Beyond this difference from the database server's clock, a warning. */
const CLOCK_SKEW_WARN_MS = 5_000;
const VERIFY_TIMEOUT_MS = 15_000;
const GENERATE_SECRET =
  `node -e "console.log(require('node:crypto').randomBytes(32).toString('base64url'))"` +
  ', then set it as REGSTACK_JWT_SECRET (environment or regstack.secrets.env, mode 0600)';

/**
 * A conservative strength estimate of a secret in bits: its length × the Shannon entropy of its own characters.
 * A CSPRNG base64url secret of 43 characters scores about 200; a repeated pattern or a word scores far less.
 */
export function estimatedSecretBits(secret: string): number {
  const counts = new Map<string, number>();
  const chars = [...secret];
  for (const c of chars) counts.set(c, (counts.get(c) ?? 0) + 1);
  let perChar = 0;
  for (const n of counts.values()) {
    const p = n / chars.length;
    perChar -= p * Math.log2(p);
  }
  return Math.round(perChar * chars.length);
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function reason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s+/g, ' ').trim().slice(0, 400);
}

function production(): boolean {
  return process.env.NODE_ENV === 'production';
}

async function checkConfig(
  opts: DoctorOptions,
  results: CheckResult[],
): Promise<{ config: ConfigWithoutSecret; sources: ReadonlyMap<string, string> } | undefined> {
  const warnings: ConfigIssue[] = [];
  try {
    // A missing jwt_secret is the jwt_secret check's own failure below, not a reason to skip every other check.
    const loaded = await loadConfigWithoutSecret({ configFile: opts.config, onWarning: (w) => warnings.push(w) });
    const from = new Set([...loaded.sources.values()].map((s) => s.replace(/: REGSTACK_\w+$/, '')));
    const named = [...from].map((s) => (s.startsWith('REGSTACK_') ? 'environment' : s));
    results.push({
      check: 'config',
      status: 'ok',
      message: `loads, every key known (set from: ${[...new Set(named)].sort().join(', ') || 'defaults only'})`,
    });
    for (const w of warnings) {
      results.push({
        check: 'config',
        status: 'warn',
        message: `${w.key}${w.source ? ` (from ${w.source})` : ''}: ${w.message}`,
      });
    }
    return loaded;
  } catch (err) {
    if (!ConfigError.is(err)) throw err;
    for (const issue of err.issues) {
      results.push({
        check: 'config',
        status: 'fail',
        message: `${issue.key}${issue.source ? ` (from ${issue.source})` : ''}: ${issue.message}`,
        fix: 'correct this key (docs/configuration.md lists every key, its type and default)',
      });
    }
    return undefined;
  }
}

async function checkSecret(
  config: ConfigWithoutSecret,
  sources: ReadonlyMap<string, string>,
  opts: DoctorOptions,
): Promise<CheckResult> {
  const secret: string | undefined = config.jwtSecret;
  if (secret === undefined) {
    return {
      check: 'jwt_secret',
      status: 'fail',
      message: 'is not set (serve and createRegstack refuse to start without it)',
      fix: `set REGSTACK_JWT_SECRET in regstack.secrets.env or the environment: ${GENERATE_SECRET}`,
    };
  }
  const bits = estimatedSecretBits(secret);
  if (bits < MIN_SECRET_BITS) {
    return {
      check: 'jwt_secret',
      status: 'fail',
      message: `${secret.length} characters but only about ${bits} bits of entropy (a pattern or words, not random output; R32 wants 256)`,
      fix: `generate one: ${GENERATE_SECRET}`,
    };
  }
  if (production() && (sources.get('jwtSecret') ?? '').endsWith(': REGSTACK_JWT_SECRET')) {
    const secretsFile = resolveSourcePaths({ configFile: opts.config, env: process.env }).secrets.path;
    if (await isGeneratedDevSecret(secretsFile, secret)) {
      return {
        check: 'jwt_secret',
        status: 'fail',
        message: 'is the development secret a non-production start generated into regstack.secrets.env',
        fix: `NODE_ENV=production needs a secret of its own: ${GENERATE_SECRET}`,
      };
    }
  }
  const previous = config.jwtPreviousSecrets.filter((s: string) => estimatedSecretBits(s) < MIN_SECRET_BITS).length;
  if (previous > 0) {
    return {
      check: 'jwt_secret',
      status: 'warn',
      message: `strong (${secret.length} characters, about ${bits} bits), but ${previous} of jwt_previous_secrets ${previous === 1 ? 'is' : 'are'} weak`,
    };
  }
  return { check: 'jwt_secret', status: 'ok', message: `${secret.length} characters, about ${bits} bits of entropy` };
}

function checkBaseUrl(config: ConfigWithoutSecret, sources: ReadonlyMap<string, string>): CheckResult {
  const url = new URL(config.baseUrl);
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (production()) {
    if (!sources.has('baseUrl')) {
      return {
        check: 'base_url',
        status: 'fail',
        message: `not set: every link in mail would point at the default ${config.baseUrl}`,
        fix: 'set REGSTACK_BASE_URL (or base_url in regstack.toml) to the public https URL, e.g. https://accounts.example.com',
      };
    }
    if (url.protocol !== 'https:' && !local) {
      return {
        check: 'base_url',
        status: 'fail',
        message: `${config.baseUrl} is not https with NODE_ENV=production: links with one-time tokens would travel in clear`,
        fix: `use the https URL users reach, e.g. ${config.baseUrl.replace(/^http:/, 'https:')}`,
      };
    }
  }
  return { check: 'base_url', status: 'ok', message: config.baseUrl };
}

function isWritableDirectory(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Why a database could not be reached, and what to change, from the driver's words. */
function databaseFix(message: string): string {
  if (/SQLite/.test(message)) return 'make sure the directory of the SQLite file exists and is writable';
  if (/no PostgreSQL server of the list/.test(message)) {
    return "no host of database_url's list gave the session target_session_attrs asks for (each host's reason is above): start or promote a primary, or correct the host list";
  }
  if (/password authentication failed|authentication failed|auth(entication)? error|SCRAM/i.test(message)) {
    return 'the user name or password in database_url is wrong: correct them (keep the URL in regstack.secrets.env)';
  }
  if (/ECONNREFUSED|connection refused|ENOTFOUND|EAI_AGAIN|timed? ?out|Server selection/i.test(message)) {
    return 'nothing answers at that host and port: start the database server, or correct the host and port in database_url';
  }
  if (/does not exist/i.test(message)) return 'create that database, or correct its name in database_url';
  return 'check database_url and that the database server is running';
}

async function checkDatabase(config: ConfigWithoutSecret, results: CheckResult[]): Promise<Storage | undefined> {
  // Opening a SQLite file that is not there would create it: the doctor changes nothing, so it says so instead.
  const target = parseDatabaseUrl(config.databaseUrl, process.cwd(), config.mongodbDatabase);
  if (target.kind === 'sqlite' && target.path !== ':memory:' && !existsSync(target.path)) {
    // A fresh setup (`regstack init` then `doctor`) has no file yet, and `serve` creates it with its schema: that
    // is only worth a warning when the file can be created; a directory that is missing or not writable fails.
    const directory = dirname(target.path);
    if (isWritableDirectory(directory)) {
      results.push({
        check: 'database',
        status: 'warn',
        message: `the SQLite file ${target.path} does not exist yet: "regstack serve" or "regstack migrate" creates it with its schema`,
      });
    } else {
      results.push({
        check: 'database',
        status: 'fail',
        message: `the SQLite file ${target.path} does not exist and its directory ${directory} is missing or not writable`,
        fix: 'create that directory (writable by the server), or correct database_url',
      });
    }
    return undefined;
  }
  let storage: Storage;
  const started = performance.now();
  try {
    storage = await openConfiguredStorage(config, silentLogger);
  } catch (err) {
    results.push({ check: 'database', status: 'fail', message: reason(err), fix: databaseFix(reason(err)) });
    return undefined;
  }
  const connectMs = performance.now() - started;
  const pings: number[] = [];
  for (let i = 0; i < 3; i++) {
    const at = performance.now();
    await storage.ping();
    pings.push(performance.now() - at);
  }
  pings.sort((a, b) => a - b);
  const latency = pings[1] ?? 0;
  results.push({
    check: 'database',
    status: latency > 100 ? 'warn' : 'ok',
    message:
      `${storage.description} reachable (opened in ${Math.round(connectMs)} ms, round trip ${latency.toFixed(1)} ms)` +
      (latency > 100 ? ': every request makes several round trips; put the database closer' : ''),
  });
  const inventory = await storage.schemaInventory();
  const units = inventory.unit === 'migration' ? 'migrations' : 'indexes';
  if (inventory.pending.length > 0) {
    results.push({
      check: 'schema',
      status: 'fail',
      message: `${inventory.pending.length} ${units} missing: ${inventory.pending.join('; ')}`,
      fix: 'run "regstack migrate" (serve and create-admin also install the schema when they start)',
    });
  } else if (inventory.unknown.length > 0) {
    results.push({
      check: 'schema',
      status: 'warn',
      message: `current, but the database records ${units} this version does not ship (${inventory.unknown.join(', ')}): a newer regstack migrated it`,
    });
  } else {
    results.push({ check: 'schema', status: 'ok', message: `current (${inventory.applied.length} ${units})` });
  }
  return storage;
}

async function checkClock(storage: Storage | undefined): Promise<CheckResult> {
  const now = new Date();
  if (now.getUTCFullYear() < 2024 || now.getUTCFullYear() > 2100) {
    return {
      check: 'clock',
      status: 'fail',
      message: `this machine's clock says ${now.toISOString()}`,
      fix: 'set the system clock (enable NTP, e.g. systemd-timesyncd or chrony): token expiry and lockout windows depend on it',
    };
  }
  if (!storage) return { check: 'clock', status: 'ok', message: `${now.toISOString()} (no database to compare with)` };
  const before = Date.now();
  const server = await databaseServerTime(storage).catch(() => undefined);
  const after = Date.now();
  if (!server) {
    return { check: 'clock', status: 'ok', message: `${now.toISOString()} (the database shares this machine's clock)` };
  }
  const skew = server.getTime() - (before + after) / 2;
  if (Math.abs(skew) > CLOCK_SKEW_WARN_MS + (after - before)) {
    return {
      check: 'clock',
      status: 'warn',
      message: `this machine's clock is ${Math.round(Math.abs(skew) / 1000)} s ${skew > 0 ? 'behind' : 'ahead of'} the database server's`,
      fix: 'sync the clocks with NTP: tokens, expiry and lockout windows are compared across instances',
    };
  }
  return {
    check: 'clock',
    status: 'ok',
    message: `within ${Math.max(1, Math.round(Math.abs(skew)))} ms of the database server's clock`,
  };
}

function emailFix(config: ConfigWithoutSecret, message: string): string {
  const e = config.email;
  if (e.backend === 'ses')
    return 'check email.ses_region, the AWS credentials (ses_profile or the key pair) and the SES identity';
  if (/auth|535|credentials|Invalid login/i.test(message)) {
    return 'the SMTP server refused the login: check email.smtp_username and REGSTACK_EMAIL__SMTP_PASSWORD';
  }
  if (/certificate|self.signed|TLS|SSL|STARTTLS/i.test(message)) {
    return 'TLS failed: check email.smtp_starttls / email.smtp_implicit_tls against the port (587 STARTTLS, 465 implicit TLS) and the server certificate';
  }
  return `nothing accepted an SMTP connection at ${e.smtpHost}:${e.smtpPort}: check email.smtp_host and email.smtp_port, and that outbound SMTP is allowed`;
}

async function checkEmail(config: ConfigWithoutSecret, opts: DoctorOptions, results: CheckResult[]): Promise<void> {
  const e = config.email;
  let transport: EmailTransport;
  try {
    transport = await createTransportFromConfig(config, silentLogger);
  } catch (err) {
    results.push({ check: 'email', status: 'fail', message: reason(err), fix: 'install the package named above' });
    return;
  }
  try {
    if (e.backend === 'console') {
      results.push(
        production()
          ? {
              check: 'email',
              status: 'warn',
              message: 'email.backend is "console" with NODE_ENV=production: mail is printed, not delivered',
              fix: 'set email.backend to "smtp" or "ses" (or pass your own transport to createRegstack)',
            }
          : { check: 'email', status: 'ok', message: 'console backend (development: mail is printed, not sent)' },
      );
    } else {
      const where = e.backend === 'smtp' ? `SMTP ${e.smtpHost}:${e.smtpPort}` : `SES in ${e.sesRegion}`;
      try {
        await withTimeout(transport.verify?.() ?? Promise.resolve(), VERIFY_TIMEOUT_MS, where);
        results.push({ check: 'email', status: 'ok', message: `${where} accepts the connection and credentials` });
      } catch (err) {
        results.push({
          check: 'email',
          status: 'fail',
          message: `${where}: ${reason(err)}`,
          fix: emailFix(config, reason(err)),
        });
        return;
      }
    }
    if (opts.sendTestEmail !== undefined) {
      const from = fromHeaderOf(config);
      try {
        await withTimeout(
          transport.send({
            to: opts.sendTestEmail,
            from,
            subject: `${config.appName}: regstack doctor test message`,
            text: `This message was sent by "regstack doctor --send-test-email" to check that ${config.appName} can deliver mail.\n`,
            html: `<p>This message was sent by <code>regstack doctor --send-test-email</code> to check that mail is delivered.</p>`,
          }),
          VERIFY_TIMEOUT_MS,
          'the mail transport',
        );
        results.push({
          check: 'email',
          status: 'ok',
          message: `test message to ${opts.sendTestEmail} accepted by the ${e.backend} backend (check that it arrives, and not as spam)`,
        });
      } catch (err) {
        results.push({
          check: 'email',
          status: 'fail',
          message: `test message to ${opts.sendTestEmail} refused: ${reason(err)}`,
          fix: emailFix(config, reason(err)),
        });
      }
    }
  } finally {
    await transport.close?.().catch(() => undefined);
  }
}

async function checkDns(config: ConfigWithoutSecret, results: CheckResult[]): Promise<void> {
  const domain = config.email.fromAddress.slice(config.email.fromAddress.lastIndexOf('@') + 1).toLowerCase();
  const resolver = new Resolver({ timeout: 3000, tries: 2 });
  const missing = (err: unknown) => ['ENOTFOUND', 'ENODATA'].includes((err as { code?: string }).code ?? '');
  const txt = async (name: string) => (await resolver.resolveTxt(name)).map((parts) => parts.join(''));
  const lookup = async (
    check: string,
    run: () => Promise<string | undefined>,
    absent: Omit<CheckResult, 'check'>,
  ): Promise<void> => {
    try {
      const found = await run();
      results.push(found === undefined ? { check, ...absent } : { check, status: 'ok', message: found });
    } catch (err) {
      if (missing(err)) results.push({ check, ...absent });
      else results.push({ check, status: 'warn', message: `could not look up ${domain}: ${reason(err)}` });
    }
  };
  await lookup('dns.spf', async () => (await txt(domain)).find((r) => /^v=spf1\b/i.test(r)), {
    status: 'fail',
    message: `${domain} publishes no SPF record: receivers may treat regstack's mail as spam or reject it`,
    fix: `publish a TXT record on ${domain} such as "v=spf1 include:<your provider> -all" (your mail provider documents it)`,
  });
  await lookup('dns.dmarc', async () => (await txt(`_dmarc.${domain}`)).find((r) => /^v=DMARC1\b/i.test(r)), {
    status: 'warn',
    message: `${domain} publishes no DMARC record (_dmarc.${domain})`,
    fix: `publish a TXT record on _dmarc.${domain}, e.g. "v=DMARC1; p=quarantine; rua=mailto:dmarc@${domain}"`,
  });
  await lookup(
    'dns.mx',
    async () => {
      const mx = await resolver.resolveMx(domain);
      return mx.length ? mx.map((r) => `${r.priority} ${r.exchange}`).join(', ') : undefined;
    },
    {
      status: 'warn',
      message: `${domain} has no MX record: replies and bounces to ${config.email.fromAddress} go nowhere`,
      fix: `publish an MX record for ${domain}, or send from an address of a domain that receives mail`,
    },
  );
}

function checkSms(config: ConfigWithoutSecret): CheckResult {
  const sms = config.sms;
  if (!config.enableSms2fa) return { check: 'sms', status: 'ok', message: 'SMS second factor off (enable_sms_2fa)' };
  if (sms.backend === 'console') {
    return production()
      ? {
          check: 'sms',
          status: 'fail',
          message:
            'enable_sms_2fa is on with sms.backend "console" and NODE_ENV=production: codes are printed, never sent',
          fix: 'set sms.backend to "twilio" or "sns" with their credentials, or turn enable_sms_2fa off',
        }
      : { check: 'sms', status: 'ok', message: 'console backend (development: codes are printed, not sent)' };
  }
  if (sms.backend === 'twilio' && !/^AC[0-9a-f]{32}$/i.test(sms.twilioAccountSid ?? '')) {
    return {
      check: 'sms',
      status: 'fail',
      message: 'sms.twilio_account_sid is not a Twilio account SID (AC followed by 32 hex digits)',
      fix: 'copy the Account SID from the Twilio console',
    };
  }
  if (sms.allowedCountryCodes.length === 0) {
    return {
      check: 'sms',
      status: 'warn',
      message: `${sms.backend}: sms.allowed_country_codes is empty, so codes may be sent to any country (R21: SMS pumping)`,
      fix: 'list the countries your users are in, e.g. allowed_country_codes = ["GB", "+353"]',
    };
  }
  return {
    check: 'sms',
    status: 'ok',
    message: `${sms.backend} configured (${sms.allowedCountryCodes.length} allowed destinations; credentials are used on the first send)`,
  };
}

async function checkHashCost(config: ConfigWithoutSecret): Promise<CheckResult> {
  const parameters = {
    memoryKib: config.argon2MemoryKib,
    iterations: config.argon2Iterations,
    parallelism: config.argon2Parallelism,
  };
  const label = `m=${parameters.memoryKib} KiB, t=${parameters.iterations}, p=${parameters.parallelism}`;
  const ms = await measureHashCostMs(parameters);
  const [low, high] = HASH_COST_BAND_MS;
  if (ms < low) {
    return {
      check: 'argon2',
      status: 'warn',
      message: `${label}: ${ms.toFixed(0)} ms per hash on this machine, under ${low} ms: cheap for an offline attacker too`,
      fix: 'raise argon2_memory_kib or argon2_iterations until a hash takes 20–500 ms here',
    };
  }
  if (ms > high) {
    return {
      check: 'argon2',
      status: 'warn',
      message: `${label}: ${ms.toFixed(0)} ms per hash on this machine, over ${high} ms: logins will queue under load (R7)`,
      fix: 'use a faster machine, or lower argon2_iterations (never below the OWASP floor the config enforces)',
    };
  }
  return { check: 'argon2', status: 'ok', message: `${label}: ${ms.toFixed(0)} ms per hash on this machine` };
}

/** Every check, in order; never throws for a failed check (only for a bug). */
export async function runDoctor(opts: DoctorOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const loaded = await checkConfig(opts, results);
  if (!loaded) return results;
  const { config, sources } = loaded;
  results.push(await checkSecret(config, sources, opts));
  results.push(checkBaseUrl(config, sources));
  const storage = await checkDatabase(config, results);
  try {
    results.push(await checkClock(storage));
  } finally {
    await storage?.close().catch(() => undefined);
  }
  await checkEmail(config, opts, results);
  if (opts.checkDns) await checkDns(config, results);
  results.push(checkSms(config));
  results.push(await checkHashCost(config));
  return results;
}

export async function doctor(opts: DoctorOptions): Promise<void> {
  printReport(await runDoctor(opts), opts.json === true);
}
