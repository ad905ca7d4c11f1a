/**
 * Zero-setup development: when no JWT secret is configured anywhere and `NODE_ENV` is not `production`, generate one
 * (32 CSPRNG bytes, base64url — 256 bits, R32) into `regstack.secrets.env` with mode 0600, so `pnpm start` works on
 * a fresh checkout and the secret survives restarts (sessions stay valid). Production never gets a generated secret:
 * it refuses to start and says exactly how to set one. The secret is never printed or logged.
 */
import { randomBytes } from 'node:crypto';
import { constants, type FileHandle, link, open, rm } from 'node:fs/promises';
import { parseEnv } from 'node:util';
import { ConfigError } from './config-error.ts';
import {
  type EnvSource,
  type FileLocation,
  readSecretsFile,
  readTomlFile,
  resolveSourcePaths,
} from './config-sources.ts';

const SECRET_VARIABLE = 'REGSTACK_JWT_SECRET';

export interface EnsureDevSecretOptions {
  /**
   * Directory of `regstack.toml` and `regstack.secrets.env`.
   * @default process.cwd()
   */
  cwd?: string | undefined;
  /**
   * Environment consulted for `REGSTACK_JWT_SECRET` and `NODE_ENV` (injectable for tests).
   * @default process.env
   */
  env?: EnvSource | undefined;
  /**
   * The TOML file (as for `loadConfig`).
   * @default `REGSTACK_CONFIG`, else 'regstack.toml'
   */
  configFile?: string | undefined;
  /**
   * The secrets file written to (as for `loadConfig`).
   * @default `REGSTACK_SECRETS_FILE`, else 'regstack.secrets.env'
   */
  secretsFile?: string | undefined;
}

export interface EnsureDevSecretResult {
  /** True when a new secret was written. */
  readonly generated: boolean;
  /** Absolute path of the secrets file consulted (and written when `generated`). */
  readonly secretsFile: string;
}

const HEADER = '# regstack.secrets.env — secrets for regstack; keep out of version control (mode 0600).\n';

function productionError(secretsFile: FileLocation): ConfigError {
  return new ConfigError([
    {
      key: 'jwt_secret',
      message:
        'is required when NODE_ENV=production and regstack never generates one there: set REGSTACK_JWT_SECRET in the ' +
        `environment, or add a line REGSTACK_JWT_SECRET=<secret> to ${secretsFile.display} (chmod 600), using at ` +
        'least 32 random characters, e.g. the output of: ' +
        `node -e "console.log(require('node:crypto').randomBytes(32).toString('base64url'))"`,
    },
  ]);
}

async function writeAll(handle: FileHandle, text: string): Promise<void> {
  await handle.writeFile(text, 'utf8');
  await handle.sync();
}

/**
 * Creates the file with its whole content at once; `false` when it already exists (it was there all along, or a
 * concurrent start won the race). The content is written to a private temporary file (O_EXCL, 0600 from the first
 * byte) and hard-linked into place: `link` fails if the name exists, so no reader ever sees a half-written file and
 * two dev servers starting together never end up with different secrets.
 */
async function createSecretsFile(path: string, content: string): Promise<boolean> {
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await handle.chmod(0o600); // the umask can only narrow the mode, but say it explicitly
    await writeAll(handle, content);
  } finally {
    await handle.close();
  }
  try {
    await link(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(temporary, { force: true });
  }
}

/**
 * Appends the line to an existing file unless it already holds the variable; tightens the mode to 0600. Returns the
 * secret the file holds afterwards, and whether it is the one given.
 */
async function appendToSecretsFile(file: FileLocation, secret: string): Promise<{ secret: string; written: boolean }> {
  let handle: FileHandle;
  try {
    // O_NOFOLLOW: never append a secret to (or chmod) whatever a symbolic link points at.
    handle = await open(file.path, constants.O_RDWR | constants.O_APPEND | (constants.O_NOFOLLOW ?? 0));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ELOOP') throw error;
    throw new ConfigError([
      {
        key: file.display,
        message: `is a symbolic link, which regstack will not append a secret through; add a line REGSTACK_JWT_SECRET=<secret> to it yourself`,
      },
    ]);
  }
  try {
    const current = await handle.readFile('utf8');
    const existing = parseEnv(current)[SECRET_VARIABLE];
    if (existing !== undefined) return { secret: existing, written: false };
    await handle.chmod(0o600);
    await writeAll(handle, `${current === '' || current.endsWith('\n') ? '' : '\n'}${SECRET_VARIABLE}=${secret}\n`);
    return { secret, written: true };
  } finally {
    await handle.close();
  }
}

/** What `planDevSecret` found: a secret to save, or none when one is configured already. */
export interface DevSecretPlan {
  /** A freshly generated secret, not yet written; undefined when a secret is configured. */
  readonly secret: string | undefined;
  /** Absolute path of the secrets file consulted (and written by `saveDevSecret`). */
  readonly secretsFile: string;
  /** @internal where to write, as the sources name it */
  readonly location: FileLocation;
}

/**
 * The read-only half of `ensureDevSecret`: when no JWT secret is set in the environment, the secrets file or the TOML
 * file, generates one in memory (nothing is written: `regstack serve` saves it only once its port is bound and its
 * database reached, so a start that fails leaves no file behind). With `NODE_ENV=production` and no secret it throws
 * a `ConfigError`. A secret that is present but invalid (too short) is left alone for `loadConfig` to report.
 */
export async function planDevSecret(options: EnsureDevSecretOptions = {}): Promise<DevSecretPlan> {
  const env = options.env ?? process.env;
  const paths = resolveSourcePaths({ ...options, env });
  const plan = (secret: string | undefined): DevSecretPlan => ({
    secret,
    secretsFile: paths.secrets.path,
    location: paths.secrets,
  });

  // The secrets file is the one to create, so its absence is fine even when it was named explicitly.
  const [toml, secrets] = await Promise.all([
    readTomlFile(paths.toml),
    readSecretsFile({ ...paths.secrets, explicit: false }),
  ]);
  // An unreadable source might hold the secret: generating one then could silently replace it.
  const unreadable = [...toml.issues, ...secrets.issues];
  if (unreadable.length > 0) throw new ConfigError(unreadable);

  const tomlSecret = toml.data?.jwt_secret;
  const configured =
    (env[SECRET_VARIABLE] ?? '') !== '' ||
    secrets.data?.has(SECRET_VARIABLE) === true ||
    (typeof tomlSecret === 'string' ? tomlSecret !== '' : tomlSecret !== undefined);
  if (configured) return plan(undefined);
  if (env.NODE_ENV === 'production') throw productionError(paths.secrets);
  return plan(randomBytes(32).toString('base64url'));
}

/**
 * Writes a planned secret to the secrets file (created with mode 0600, or appended to when the file exists without
 * that variable). Returns the secret the file holds afterwards: the planned one, or — when another start wrote one
 * in the meantime — that one, which every process must then use.
 */
export async function saveDevSecret(plan: DevSecretPlan): Promise<{ secret: string | undefined; generated: boolean }> {
  if (plan.secret === undefined) return { secret: undefined, generated: false };
  const line = `${SECRET_VARIABLE}=${plan.secret}\n`;
  if (await createSecretsFile(plan.location.path, HEADER + line)) return { secret: plan.secret, generated: true };
  const kept = await appendToSecretsFile(plan.location, plan.secret);
  return { secret: kept.secret, generated: kept.written };
}

/**
 * Makes sure a JWT secret exists for a development server: `planDevSecret` then `saveDevSecret`. When none is set in
 * the environment, the secrets file or the TOML file, writes a fresh one to `regstack.secrets.env` (created with mode
 * 0600, or appended to when the file exists without that variable). With `NODE_ENV=production` and no secret it throws
 * a `ConfigError` instead. A secret that is present but invalid (too short) is left alone for `loadConfig` to report.
 */
export async function ensureDevSecret(options: EnsureDevSecretOptions = {}): Promise<EnsureDevSecretResult> {
  const plan = await planDevSecret(options);
  const { generated } = await saveDevSecret(plan);
  return { generated, secretsFile: plan.secretsFile };
}
