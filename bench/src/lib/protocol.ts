/**
 * The messages between the bench runner and its server children (over Node's IPC channel). Each child
 * announces itself once with `ready`; after that the runner sends requests carrying an `id`, and the child
 * answers each with a `reply` of the same `id`. Everything here is plain JSON.
 */

/** Event-loop delay of a child over one measuring window, in milliseconds (perf_hooks.monitorEventLoopDelay). */
export interface LoopDelay {
  /** Longest single delay seen: the worst stall. */
  maxMs: number;
  p99Ms: number;
  p50Ms: number;
  meanMs: number;
  /** Timer resolution the histogram sampled at. */
  resolutionMs: number;
  /** Garbage-collection pauses of the main thread over the window (perf_hooks 'gc' entries): longest and sum. */
  gcMaxMs: number;
  /** The kind of that longest pause: minor (scavenge), major (mark-compact), incremental, weak callbacks. */
  gcMaxKind: string;
  gcTotalMs: number;
}

/** CPU a child used over one measuring window, in milliseconds. */
export interface CpuWindow {
  wallMs: number;
  /** Every thread of the process (main, libuv pool, V8 helpers) and its child processes (the hashing process). */
  processCpuMs: number;
  /** The main thread (the event loop) alone; null where the OS does not tell. */
  mainThreadCpuMs: number | null;
  /**
   * The whole machine over the window, summed over its CPUs (Linux /proc/stat; null elsewhere): `stealMs` is time
   * the hypervisor ran something else on our virtual CPUs, `iowaitMs` idle time with disk I/O outstanding. A round
   * whose server stalled with steal or iowait beside it was disturbed from outside the code under test.
   */
  machine: { stealMs: number; iowaitMs: number } | null;
}

/** What a child can be asked to do. */
export type ChildRequest =
  | { id: number; cmd: 'loop:start' }
  | { id: number; cmd: 'loop:stop' }
  | { id: number; cmd: 'cpu:start' }
  | { id: number; cmd: 'cpu:stop' }
  | { id: number; cmd: 'argon2:run'; seconds: number; inFlight: number }
  | { id: number; cmd: 'stats' }
  | { id: number; cmd: 'profile:start' }
  | { id: number; cmd: 'profile:stop'; file: string }
  | { id: number; cmd: 'shutdown' };

export type ChildCommand = ChildRequest['cmd'];

export interface ChildReply {
  type: 'reply';
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

/** A user the runner can act as: for `me`, its access token (or session cookie); for `login`, its password. */
export interface BenchCredential {
  email: string;
  password: string;
  /** Bearer access token (regstack) or the whole `Cookie` header value (better-auth). */
  token: string;
}

export interface RegstackReady {
  type: 'ready';
  kind: 'regstack';
  /** Host server: a host tRPC router `{ ping, auth: regstackRouter }` on @trpc/server's Node adapter. */
  hostUrl: string;
  /** `regstack.listen()`: regstack's own standalone server (its fetch handler), the same instance. */
  standaloneUrl: string;
  /** One signed-in user per connection, for `auth.account.me`. */
  meUsers: BenchCredential[];
  /** One user per connection for the login flood (distinct from `meUsers`). */
  loginUsers: BenchCredential[];
  argon2: { memoryKib: number; iterations: number; parallelism: number; hashConcurrency: number };
  /** With `BENCH_ADMIN_SEED`: the bulk-seeded users and a superuser to list them as (the admin-list scenario). */
  admin?: AdminSeed;
  /** With `BENCH_TOTP_USERS`: users with an authenticator app enabled (the login-with-TOTP scenario). */
  totp?: TotpSeed;
  /** With `BENCH_SCALE_SEED`: bulk-seeded users who can sign in (the bench-at-scale scenario). */
  scale?: ScaleSeed;
}

/** A database bulk-seeded for the bench-at-scale scenario, and users spread over it. */
export interface ScaleSeed {
  users: number;
  seedSeconds: number;
  /** Signed in, one per connection, for `auth.account.me`. */
  meUsers: BenchCredential[];
  /** One per connection, for `auth.login`. */
  loginUsers: BenchCredential[];
}

/** Users bulk-seeded with a confirmed TOTP factor; one password for all, a secret each. */
export interface TotpSeed {
  password: string;
  users: Array<{ email: string; secret: string }>;
  seedSeconds: number;
}

/** A database seeded for the admin-list scenario. */
export interface AdminSeed {
  /** Users inserted in bulk (the superuser comes on top). */
  users: number;
  /** Wall time of the bulk insert, including the seeded users' one password hash and SQLite's checkpoint. */
  seedSeconds: number;
  /** The superuser's bearer access token. */
  token: string;
  /** A search term that matches a tenth of the seeded users by email prefix. */
  search: string;
  /** A search term that matches one seeded user, by a word of the name (issue 17). */
  rareSearch: string;
}

export interface BetterAuthReady {
  type: 'ready';
  kind: 'better-auth';
  url: string;
  version: string;
  /** One signed-up user per connection; `token` is the `Cookie` header value. */
  users: BenchCredential[];
}

export interface Argon2Ready {
  type: 'ready';
  kind: 'argon2';
  argon2: { memoryKib: number; iterations: number; parallelism: number };
  /** Its libuv pool (`UV_THREADPOOL_SIZE`): a thread per core. */
  poolThreads: number;
}

export type ChildReady = RegstackReady | BetterAuthReady | Argon2Ready;

/** Result of `argon2:run`. */
export interface Argon2RunResult {
  verifies: number;
  seconds: number;
  perSecond: number;
}

/** Result of `stats`: what a child knows about its own process. */
export interface ChildStats {
  rssMb: number;
}
