/**
 * A PostgreSQL primary with a streaming-replication hot standby made by `pg_basebackup` (issue 21), on ports and data
 * directories of their own under a temporary directory — never the shared server on 5432. Replication is
 * synchronous (`synchronous_standby_names = '*'`), so a commit is acknowledged once the standby has it. The
 * binaries are Debian's (`/usr/lib/postgresql/<version>/bin`, the `postgresql` package .ci/setup.sh installs);
 * `postgresBinDir()` is null where they are absent. As root, every server command runs as `postgres`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './ferretdb.ts';

const TOOLS = ['initdb', 'pg_ctl', 'pg_basebackup', 'postgres'];

/** The newest installed PostgreSQL's binaries with everything needed here, or null. */
export function postgresBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((x, y) => Number(y) - Number(x));
  for (const version of versions) {
    const bin = join(root, version, 'bin');
    if (TOOLS.every((tool) => existsSync(join(bin, tool)))) return bin;
  }
  return null;
}

const asRoot = process.getuid?.() === 0;

/** Runs a server tool, as `postgres` when we are root (PostgreSQL refuses to run as root). */
function run(bin: string, tool: string, args: string[], timeoutMs = 30_000): string {
  const [command, argv] = asRoot
    ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]]
    : [join(bin, tool), args];
  const result = spawnSync(command, argv as string[], { encoding: 'utf8', timeout: timeoutMs });
  if (result.status !== 0) {
    throw new Error(`${tool} ${args.join(' ')} failed (${result.status}): ${result.stderr || result.stdout}`);
  }
  return result.stdout;
}

export interface PgNode {
  port: number;
  dataDir: string;
  /** A superuser URL for this node alone. */
  url: string;
}

export interface PgStandbyPair {
  primary: PgNode;
  standby: PgNode;
  /** libpq's multi-host URL over both, primary first, with `target_session_attrs=read-write`. */
  failoverUrl: string;
  /** `kill -9` of the primary's postmaster and every process it started. */
  killPrimary(): void;
  /** `pg_ctl promote` of the standby, waiting until it accepts writes. */
  promoteStandby(): Promise<void>;
  /** Stops both servers (immediately) and removes their directories; safe to call more than once. */
  stop(): Promise<void>;
}

const USER = 'regstack';
const PASSWORD = 'regstack';

function postmasterPid(dataDir: string): number | null {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** The postmaster and its children (backends, walsender, checkpointer…), all started by this harness. */
function killTree(pid: number): void {
  let children: number[] = [];
  try {
    children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((n) => n > 0);
  } catch {
    // no children left
  }
  for (const p of [pid, ...children]) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

async function query(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end().catch(() => {});
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts the primary, clones the standby from it with `pg_basebackup -R`, and waits for synchronous streaming. */
export async function startPgStandbyPair(): Promise<PgStandbyPair> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('the PostgreSQL server binaries are not installed');
  const dir = mkdtempSync(join(tmpdir(), 'regstack-pg-standby-'));
  chmodSync(dir, 0o755);
  if (asRoot) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), -1);
  const [primaryPort, standbyPort] = [await freePort(), await freePort()];
  const node = (name: string, port: number): PgNode => ({
    port,
    dataDir: join(dir, name),
    url: `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
  });
  const primary = node('primary', primaryPort);
  const standby = node('standby', standbyPort);
  let stopped = false;
  const stopNow = () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', stopNow);
    for (const n of [primary, standby]) {
      const pid = postmasterPid(n.dataDir);
      if (pid !== null) killTree(pid);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // A test process that ends without its afterAll (a crash, a timeout) still takes both servers with it.
  process.on('exit', stopNow);
  const stop = async () => stopNow();
  try {
    const pwfile = join(dir, 'pw');
    writeFileSync(pwfile, `${PASSWORD}\n`, { mode: 0o644 });
    run(bin, 'initdb', ['-D', primary.dataDir, '-U', USER, '--pwfile', pwfile, '-A', 'trust', '--no-sync']);
    const common = [
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      // Speed only: a killed process loses nothing the OS has; the tests never crash the machine.
      'fsync = off',
      'max_connections = 60',
      'shared_buffers = 16MB',
    ];
    writeFileSync(
      join(primary.dataDir, 'postgresql.auto.conf'),
      [...common, `port = ${primaryPort}`, "synchronous_standby_names = '*'", ''].join('\n'),
    );
    run(bin, 'pg_ctl', ['-D', primary.dataDir, '-l', join(dir, 'primary.log'), '-w', 'start']);
    run(bin, 'pg_basebackup', [
      '-h',
      '127.0.0.1',
      '-p',
      String(primaryPort),
      '-U',
      USER,
      '-D',
      standby.dataDir,
      '-R',
      '-X',
      'stream',
      // An immediate checkpoint to start from, not a spread one.
      '-c',
      'fast',
    ]);
    // -R wrote primary_conninfo into the clone's postgresql.auto.conf; the port and settings come after it.
    const auto = join(standby.dataDir, 'postgresql.auto.conf');
    writeFileSync(
      auto,
      `${readFileSync(auto, 'utf8')}\nport = ${standbyPort}\nsynchronous_standby_names = ''\nhot_standby = on\n`,
    );
    run(bin, 'pg_ctl', ['-D', standby.dataDir, '-l', join(dir, 'standby.log'), '-w', 'start']);
    await waitFor('the standby streaming synchronously', async () => {
      const rows = await query(primary.url, 'select sync_state from pg_stat_replication');
      return rows.some((r) => r.sync_state === 'sync');
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    primary,
    standby,
    failoverUrl: `postgresql://${USER}:${PASSWORD}@127.0.0.1:${primaryPort},127.0.0.1:${standbyPort}/postgres?target_session_attrs=read-write`,
    killPrimary() {
      const pid = postmasterPid(primary.dataDir);
      if (pid === null) throw new Error('the primary is not running');
      killTree(pid);
    },
    async promoteStandby() {
      run(bin, 'pg_ctl', ['-D', standby.dataDir, '-w', 'promote']);
      await waitFor('the promoted standby accepting writes', async () => {
        const rows = await query(standby.url, 'show transaction_read_only');
        return rows[0]?.transaction_read_only === 'off';
      });
    },
    stop,
  };
}
