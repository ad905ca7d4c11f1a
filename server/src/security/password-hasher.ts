/**
 * Password storage (R6, R7, R10): argon2id through the `argon2` package, whose native code runs on a libuv
 * thread pool rather than the JS event loop — the pool of a process of its own, at a lower priority
 * (argon2-process.ts), so that neither the hashing nor its completions hold up the host's event loop. Every KDF
 * call — hash, verify and the dummy verify — first takes a slot from a small semaphore (R7: at most
 * `concurrency` at once) and waits in a bounded FIFO queue; when that queue is full the call is shed at once
 * with `SERVER_BUSY` + `retryAfterSeconds` (→ 503 + `Retry-After`), never queued without bound.
 * Hashes are PHC strings in the reference implementation's canonical form
 * (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`, 16-byte random salt, 32-byte output), which is what libargon2-based
 * verifiers such as the Python regstack's expect; verification delegates to the library's constant-time
 * compare. This module hashes exactly the string it is given (R3): the caller passes the NFKC-normalized
 * password from `@regstack/shared` (`normalizePassword`, applied by the password schemas); nothing here trims,
 * case-folds or normalizes, so set-time and verify-time must both go through that one normalization.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism, totalmem } from 'node:os';
import { RegstackError } from '../errors/regstack-error.ts';
import { Argon2ProcessExitedError, hashInArgon2Process, verifyInArgon2Process } from './argon2-process.ts';

export interface PasswordHasher {
  /** Hashes with argon2id and a fresh 16-byte salt; resolves to a PHC string. Rejects with SERVER_BUSY when shed. */
  hash(password: string): Promise<string>;
  /**
   * Checks `password` against a stored PHC string with the library's constant-time compare. Resolves `false`
   * for a wrong password and for a malformed or unsupported hash (bcrypt, truncated, garbage) — it never
   * throws for those. Rejects with SERVER_BUSY when shed.
   */
  verify(phc: string, password: string): Promise<boolean>;
  /**
   * True when a stored hash is below the current policy (R6): not argon2id, not version 0x13, memory or
   * iterations below the configured ones, a salt under 16 bytes or an output under 32 bytes, or unparseable.
   * A hash *stronger* than the policy (e.g. the Python regstack's m=65536, t=3, p=4) is left alone.
   */
  needsRehash(phc: string): boolean;
  /**
   * One verify against a dummy argon2id hash with the same parameters as real hashes, so a login for an
   * unknown user (or one without a password) costs the same KDF call as a wrong password (R10). Always
   * resolves `false`. Sheds like `verify`, so a busy server answers both paths alike.
   */
  verifyDummy(password: string): Promise<false>;
  /** A snapshot: KDF calls running, calls waiting for a slot, and calls shed since the hasher was created. */
  readonly stats: { active: number; queued: number; shed: number };
  /** KDF calls allowed at once (the `concurrency` option, or its default). */
  readonly concurrency: number;
}

export interface PasswordHasherOptions {
  /**
   * argon2id memory cost in KiB. `memoryKib × iterations` may not fall below the weakest OWASP row
   * (7168 KiB × 5) and memory not below 7168 KiB, unless `unsafeAllowWeakParametersForTests` is set (R6).
   * @default 19456
   */
  memoryKib?: number;
  /**
   * argon2id iterations (time cost), 1 to 20.
   * @default 2
   */
  iterations?: number;
  /**
   * argon2id parallelism (lanes), 1 to 8. The lanes run on argon2's own threads inside one libuv job.
   * @default 1
   */
  parallelism?: number;
  /**
   * KDF calls allowed in flight at once (R7). The hashing process computes as many at a time as it has pool
   * threads — one per core, or this many when fewer (`hashingPoolThreads`, argon2-process.ts) — and starts a
   * waiting one the moment a thread is free; each holds `memoryKib` while it computes.
   * @default `defaultHashConcurrency` for this `memoryKib`
   */
  concurrency?: number;
  /**
   * KDF calls allowed to wait for a slot, served first in, first out; one more is shed immediately with
   * SERVER_BUSY (R7). 0 means never wait.
   * @default 32
   */
  queueLimit?: number;
  /**
   * `retryAfterSeconds` on the SERVER_BUSY error of a shed call (becomes `Retry-After`).
   * @default 1
   */
  retryAfterSeconds?: number;
  /**
   * The `nice` (0–19) of the hashing process, which one process shares among all hashers: it runs at the
   * highest value any hasher asked for (priorities are only lowered). 0 leaves it at normal priority.
   * @default 10
   */
  priority?: number;
  /**
   * ⚠️ TESTS ONLY — NEVER IN PRODUCTION. Lets the hasher run with parameters below the weakest OWASP argon2id
   * row (e.g. `memoryKib: 1024, iterations: 1`) so a test suite that hashes hundreds of passwords stays fast.
   * Hashes made this way are trivially brute-forced offline. Production code gets its parameters from the
   * validated configuration, which has no such switch; hashing tests and HTTP suites use the real parameters.
   * @default false
   */
  unsafeAllowWeakParametersForTests?: boolean;
}

/** The parameters this hasher writes; exported so services and tests can state the policy without repeating it. */
export const DEFAULT_ARGON2_PARAMETERS = Object.freeze({ memoryKib: 19_456, iterations: 2, parallelism: 1 });

/** The hashing process's default `nice` (the `hash_thread_priority` setting's default). */
export const DEFAULT_HASHING_PRIORITY = 10;

/** Salt length in bytes: 128 bits (R6, RFC 9106 §4). */
const SALT_BYTES = 16;
/** Output length in bytes (RFC 9106 §4 recommends a 256-bit tag). */
const HASH_BYTES = 32;
/** Argon2 version 1.3, the only version written. */
const ARGON2_VERSION = 0x13;
/** The weakest OWASP argon2id row, 7168 KiB × 5; every row is "equal strength" to m=19456, t=2 (R6). */
const MIN_MEMORY_KIB = 7168;
const MIN_COST_KIB_ITERATIONS = 7168 * 5;
/**
 * Ceilings, the same as the configuration's: for new hashes, and when verifying, so a corrupt or planted row
 * (`m=4294967295`) cannot make one login allocate gigabytes or run for minutes.
 */
const MAX_MEMORY_KIB = 4_194_304;
const MAX_ITERATIONS = 20;
const MAX_PARALLELISM = 8;
/** A PHC string longer than this is malformed before it is parsed (ours are ~100 characters). */
const MAX_PHC_LENGTH = 512;

/** Share of the process's memory that concurrent hashes may hold by default. */
const HASH_MEMORY_SHARE = 0.25;
/** Ceiling of `hash_concurrency`, and so of its default. */
export const MAX_HASH_CONCURRENCY = 64;

export interface HashingMachine {
  /**
   * Cores this process may use: `os.availableParallelism()`, which follows the affinity mask and, on Linux, a
   * cgroup CPU quota.
   */
  cores: number;
  /** Memory this process may use: its cgroup limit (`process.constrainedMemory()`) or the machine's. */
  memoryBytes: number;
}

/** This process's cores and memory, as `defaultHashConcurrency` reads them. */
function currentMachine(): HashingMachine {
  const constrained = process.constrainedMemory();
  return {
    cores: availableParallelism(),
    memoryBytes: constrained > 0 ? Math.min(constrained, totalmem()) : totalmem(),
  };
}

/**
 * Default bound on concurrent argon2 calls (R7): one more than the cores, so a core never idles while the event
 * loop hands a finished hash's slot to the next (the extra call waits in the hashing process, which computes one
 * per core at a time, and starts the moment a core is free; see argon2-process.ts); but no more than a quarter
 * of the process's memory holds at `memoryKib` each (a container's limit counts), and never above 64. Beyond it,
 * calls queue and are then shed.
 */
export function defaultHashConcurrency(
  memoryKib: number = DEFAULT_ARGON2_PARAMETERS.memoryKib,
  machine: HashingMachine = currentMachine(),
): number {
  const byMemory = Math.floor((machine.memoryBytes * HASH_MEMORY_SHARE) / (memoryKib * 1024));
  return Math.max(1, Math.min(machine.cores + 1, byMemory, MAX_HASH_CONCURRENCY));
}

type Argon2Variant = 'argon2id' | 'argon2i' | 'argon2d';

interface ParsedArgon2Hash {
  variant: Argon2Variant;
  version: number;
  memoryKib: number;
  iterations: number;
  parallelism: number;
  saltBytes: number;
  hashBytes: number;
}

const VARIANTS: ReadonlySet<string> = new Set<Argon2Variant>(['argon2id', 'argon2i', 'argon2d']);
const DECIMAL = /^[1-9][0-9]{0,9}$/;
const B64 = /^[A-Za-z0-9+/]+$/;

/** Bytes encoded by unpadded standard base64, or -1 when the length cannot be such an encoding. */
function b64Bytes(text: string): number {
  if (!B64.test(text) || text.length % 4 === 1) return -1;
  return Math.floor((text.length * 3) / 4);
}

/**
 * Parses an argon2 PHC string strictly: `$argon2{id,i,d}[$v=16|19]$m=…,t=…,p=…$salt$hash`, the parameters in
 * any order (node-argon2 itself writes `m,p,t`), each exactly once, nothing else (regstack never writes
 * associated data or a key id). Values must be within what libargon2 accepts and under the ceilings above.
 * Returns `null` for anything else, so the library only ever sees hashes it can process.
 */
function parseArgon2Hash(phc: string): ParsedArgon2Hash | null {
  if (typeof phc !== 'string' || phc.length > MAX_PHC_LENGTH) return null;
  const fields = phc.split('$');
  if (fields.length !== 5 && fields.length !== 6) return null;
  const [empty, variant, ...rest] = fields;
  if (empty !== '' || variant === undefined || !VARIANTS.has(variant)) return null;
  let version = 0x10; // a PHC string without `v=` is Argon2 1.0 (the library reads it so too)
  if (rest.length === 4) {
    const v = rest.shift();
    if (v === 'v=19') version = 0x13;
    else if (v !== 'v=16') return null;
  }
  const [paramText, saltText, hashText] = rest;
  if (paramText === undefined || saltText === undefined || hashText === undefined) return null;
  const params = new Map<string, number>();
  for (const pair of paramText.split(',')) {
    const [key, value, extra] = pair.split('=');
    if (extra !== undefined || value === undefined || !DECIMAL.test(value)) return null;
    if ((key !== 'm' && key !== 't' && key !== 'p') || params.has(key)) return null;
    params.set(key, Number(value));
  }
  const memoryKib = params.get('m');
  const iterations = params.get('t');
  const parallelism = params.get('p');
  if (memoryKib === undefined || iterations === undefined || parallelism === undefined) return null;
  if (parallelism > MAX_PARALLELISM || iterations > MAX_ITERATIONS || memoryKib > MAX_MEMORY_KIB) return null;
  if (memoryKib < 8 * parallelism) return null; // libargon2's own floor
  const saltBytes = b64Bytes(saltText);
  const hashBytes = b64Bytes(hashText);
  if (saltBytes < 8 || saltBytes > 64 || hashBytes < 4 || hashBytes > 64) return null; // libargon2 minimums
  return { variant: variant as Argon2Variant, version, memoryKib, iterations, parallelism, saltBytes, hashBytes };
}

/** Unpadded standard base64, as the PHC format and libargon2 write it. */
function toB64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

/** The canonical encoding libargon2 writes (`m,t,p` order), which every argon2 verifier reads. */
function formatArgon2idHash(memoryKib: number, iterations: number, parallelism: number, salt: Buffer, digest: Buffer) {
  return `$argon2id$v=19$m=${memoryKib},t=${iterations},p=${parallelism}$${toB64(salt)}$${toB64(digest)}`;
}

function requireInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`Password hasher ${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/**
 * Creates a password hasher. Throws a `RangeError` at construction for parameters outside the allowed ranges,
 * and for argon2id costs below the weakest OWASP row (R6) unless `unsafeAllowWeakParametersForTests` is set.
 * @param options Cost, concurrency and shedding settings; all optional.
 * @default {} (m=19456 KiB, t=2, p=1; concurrency `defaultHashConcurrency(memoryKib)`; queue 32; retry after 1 s)
 */
export function createPasswordHasher(options: PasswordHasherOptions = {}): PasswordHasher {
  const weakAllowed = options.unsafeAllowWeakParametersForTests === true;
  const parallelism = requireInteger(
    'parallelism',
    options.parallelism ?? DEFAULT_ARGON2_PARAMETERS.parallelism,
    1,
    MAX_PARALLELISM,
  );
  const memoryKib = requireInteger(
    'memoryKib',
    options.memoryKib ?? DEFAULT_ARGON2_PARAMETERS.memoryKib,
    8 * parallelism,
    MAX_MEMORY_KIB,
  );
  const iterations = requireInteger(
    'iterations',
    options.iterations ?? DEFAULT_ARGON2_PARAMETERS.iterations,
    1,
    MAX_ITERATIONS,
  );
  if (!weakAllowed && (memoryKib < MIN_MEMORY_KIB || memoryKib * iterations < MIN_COST_KIB_ITERATIONS)) {
    throw new RangeError(
      `argon2id m=${memoryKib} KiB, t=${iterations} is below the weakest OWASP setting (m=7168 KiB, t=5; ` +
        `memory × iterations ≥ ${MIN_COST_KIB_ITERATIONS}) (R6); use m=19456, t=2. Tests may pass ` +
        '`unsafeAllowWeakParametersForTests: true`.',
    );
  }
  const concurrency = requireInteger('concurrency', options.concurrency ?? defaultHashConcurrency(memoryKib), 1, 1024);
  const queueLimit = requireInteger('queueLimit', options.queueLimit ?? 32, 0, 100_000);
  const retryAfterSeconds = requireInteger('retryAfterSeconds', options.retryAfterSeconds ?? 1, 1, 3600);
  const priority = requireInteger('priority', options.priority ?? DEFAULT_HASHING_PRIORITY, 0, 19);

  // ── The semaphore (R7) ─────────────────────────────────────────────────────────────────────────────────
  // `active` counts slots in use; a finished call hands its slot straight to the oldest waiter (FIFO, no
  // barging), so `active` never exceeds `concurrency` and the queue never exceeds `queueLimit`.
  let active = 0;
  let shed = 0;
  const waiting: Array<() => void> = [];

  async function withSlot<T>(job: () => Promise<T>): Promise<T> {
    if (active < concurrency) {
      active += 1;
    } else if (waiting.length < queueLimit) {
      await new Promise<void>((resolve) => waiting.push(resolve));
    } else {
      // Shed instead of queueing without bound: a login burst must not pile up memory and latency until
      // the process falls over (R7, keycloak#28477). The message is vague on purpose.
      shed += 1;
      throw new RegstackError('SERVER_BUSY', 'The server is busy; please retry shortly', { retryAfterSeconds });
    }
    try {
      return await job();
    } catch (err) {
      // The hashing process died under this call; the next call starts a new one, so this is a retryable busy
      // answer (503 + Retry-After), not an internal error.
      if (err instanceof Argon2ProcessExitedError) {
        throw new RegstackError('SERVER_BUSY', 'The server is busy; please retry shortly', { retryAfterSeconds });
      }
      throw err;
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active -= 1;
    }
  }

  // ── The dummy hash (R10) ───────────────────────────────────────────────────────────────────────────────
  // A well-formed argon2id PHC string with this hasher's parameters, a random salt and a random 32-byte tag:
  // verifying against it runs exactly the KDF a real verify runs and then compares against bytes no password
  // produces (a 2^-256 chance). Built lazily once, without a KDF call, so the first unknown-user login costs
  // the same as every later one.
  let dummyHash: string | undefined;

  async function verify(phc: string, password: string): Promise<boolean> {
    // A malformed hash can never match; answering without a KDF call is safe because stored hashes are
    // written by the server, not chosen by the caller (R10's equal timing is for absent users: verifyDummy).
    if (parseArgon2Hash(phc) === null) return false;
    // The library recomputes the tag and compares with crypto.timingSafeEqual (constant time, R6).
    return withSlot(() => verifyInArgon2Process(phc, password, priority, concurrency));
  }

  return {
    async hash(password) {
      return withSlot(async () => {
        const salt = randomBytes(SALT_BYTES);
        const digest = await hashInArgon2Process(
          password,
          salt,
          { memoryKib, iterations, parallelism, hashLength: HASH_BYTES, version: ARGON2_VERSION },
          priority,
          concurrency,
        );
        return formatArgon2idHash(memoryKib, iterations, parallelism, salt, digest);
      });
    },

    verify,

    needsRehash(phc) {
      // Parsed here rather than with the library's `needsRehash`, which only reports parameters that
      // *differ* (so it would churn hashes stronger than the policy), ignores the variant (an argon2i hash
      // would pass) and throws on a bcrypt or malformed string.
      const parsed = parseArgon2Hash(phc);
      if (parsed === null) return true;
      return (
        parsed.variant !== 'argon2id' ||
        parsed.version !== ARGON2_VERSION ||
        parsed.memoryKib < memoryKib ||
        parsed.iterations < iterations ||
        parsed.saltBytes < SALT_BYTES ||
        parsed.hashBytes < HASH_BYTES
      );
    },

    async verifyDummy(password) {
      dummyHash ??= formatArgon2idHash(
        memoryKib,
        iterations,
        parallelism,
        randomBytes(SALT_BYTES),
        randomBytes(HASH_BYTES),
      );
      await verify(dummyHash, password);
      return false;
    },

    get stats() {
      return { active, queued: waiting.length, shed };
    },

    concurrency,
  };
}
