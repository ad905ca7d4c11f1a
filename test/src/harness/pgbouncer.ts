/**
 * A real pgbouncer (Debian's package, as deployments run it) in front of the test PostgreSQL, in transaction-pooling
 * mode with a small server pool, so server connections pass between clients all the time. Started per test file on
 * a free port with its own config in a temporary directory; `pgbouncerBinary()` is null where it is not installed
 * (.ci/setup.sh installs it).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ferretdb.ts';

const CANDIDATES = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer'];

export function pgbouncerBinary(): string | null {
  return CANDIDATES.find((path) => existsSync(path)) ?? null;
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited with ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`pgbouncer did not listen on ${port} within ${timeoutMs} ms`);
}

export interface Pgbouncer {
  /** `databaseUrl` with its host and port replaced by pgbouncer's. */
  url: string;
  /** The log pgbouncer wrote (for a failure's message). */
  logFile: string;
  stop(): Promise<void>;
}

/**
 * Starts pgbouncer in front of `databaseUrl` (a `postgresql://user:password@host:port/db` URL). Clients authenticate
 * to pgbouncer with the same user and password, which pgbouncer also uses towards PostgreSQL.
 */
export async function startPgbouncer(
  databaseUrl: string,
  options: { poolSize?: number; poolMode?: 'transaction' | 'session' } = {},
): Promise<Pgbouncer> {
  const binary = pgbouncerBinary();
  if (!binary) throw new Error('pgbouncer is not installed');
  const target = new URL(databaseUrl);
  const user = decodeURIComponent(target.username);
  const password = decodeURIComponent(target.password);
  const dbName = target.pathname.slice(1);
  const dir = mkdtempSync(join(tmpdir(), 'regstack-pgbouncer-'));
  // pgbouncer refuses to run as root; as root it is told to switch to `postgres`, who must own its directory.
  const asRoot = process.getuid?.() === 0;
  chmodSync(dir, 0o755);
  if (asRoot) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), -1);
  const port = await freePort();
  const ini = join(dir, 'pgbouncer.ini');
  const users = join(dir, 'userlist.txt');
  const logFile = join(dir, 'pgbouncer.log');
  writeFileSync(users, `"${user}" "${password}"\n`, { mode: 0o644 });
  writeFileSync(
    ini,
    [
      '[databases]',
      `${dbName} = host=${target.hostname} port=${target.port || 5432} dbname=${dbName}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = scram-sha-256',
      `auth_file = ${users}`,
      `pool_mode = ${options.poolMode ?? 'transaction'}`,
      `default_pool_size = ${options.poolSize ?? 2}`,
      'max_client_conn = 200',
      `logfile = ${logFile}`,
      `pidfile = ${join(dir, 'pgbouncer.pid')}`,
      // node-postgres sends no startup parameter beyond what pgbouncer knows; `extra_float_digits` comes from
      // other drivers and is harmless to ignore.
      'ignore_startup_parameters = extra_float_digits',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const args = asRoot ? ['-u', 'postgres', ini] : [ini];
  const child = spawn(binary, args, { stdio: 'ignore' });
  try {
    await waitForPort(port, child);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    logFile,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
