/**
 * regstack's OpenTelemetry instruments (docs/observability.md), through `@opentelemetry/api` only: with no SDK
 * registered by the host every call here is the API's no-op, and regstack never installs a provider itself.
 * Tracer and meter are named `@regstack/server` with the package version. Attributes are a closed, low-cardinality
 * set — procedure paths, procedure types, outcome and error codes — and never a secret, email, token, password or
 * user id (R62): metrics and spans leave the process for whatever backend the host chose.
 *
 * The meter is taken when an instance is created (`createTelemetry`), so a host registers its MeterProvider
 * before `createRegstack()`; the API's tracer is a proxy and follows a provider registered later too.
 */
import { readFileSync } from 'node:fs';
import {
  type Attributes,
  type BatchObservableCallback,
  type Counter,
  type Histogram,
  type Meter,
  metrics,
  type Tracer,
  trace,
  ValueType,
} from '@opentelemetry/api';

export const TELEMETRY_SCOPE = '@regstack/server';

/** The package's version: package.json is two levels up from both src/telemetry/ and dist/telemetry/. */
export const TELEMETRY_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/**
 * How a login step ended, the `regstack.login.outcome` attribute. Refused credentials are told apart here (the
 * operator's view of an attack) although every one of them answers the same INVALID_CREDENTIALS (R9); other
 * refusals are the lower-cased error code (`mfa_code_invalid`, `validation_failed`, …); `error` is an unexpected
 * failure (a database outage included).
 */
export type LoginOutcome =
  | 'success'
  | 'mfa_required'
  | 'wrong_password'
  | 'unknown_account'
  | 'inactive_account'
  | 'no_password'
  | 'locked_out'
  | 'rate_limited'
  | 'server_busy'
  | 'error'
  | (string & {});

/** Which step of a sign-in: the password (`auth.login`) or the second factor (`auth.mfa.confirmLogin`). */
export type LoginStep = 'password' | 'second_factor';

/** What services record (ServiceDeps.telemetry). */
export interface ServiceTelemetry {
  /** One login step ended with `outcome`. */
  login(step: LoginStep, outcome: LoginOutcome): void;
  /** A credential check was refused because the identifier is locked out (TOO_MANY_ATTEMPTS, R14–R16, R19). */
  lockout(): void;
}

/** Cheap readings of one instance, for the observable gauges (no scan: see each source). */
export interface TelemetrySources {
  /** Calls waiting for a hashing slot, calls running, calls shed since start (the hasher's own counters). */
  hashing: () => { queued: number; active: number; shed: number };
  /** Undelivered outbox rows and the oldest one's age in seconds (an index-backed count and one seek). */
  outbox: () => Promise<{ pending: number; oldestAgeSeconds: number }>;
}

export interface Telemetry extends ServiceTelemetry {
  readonly tracer: Tracer;
  /** `rpc.server.call.duration`: one recording per procedure call, in seconds. */
  readonly callDuration: Histogram;
  /** Registers the observable gauges over `sources`; the returned function unregisters them (on close). */
  observe(sources: TelemetrySources): () => void;
}

/** The semantic conventions' buckets for RPC durations, in seconds. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

export function createTelemetry(meter: Meter = metrics.getMeter(TELEMETRY_SCOPE, TELEMETRY_VERSION)): Telemetry {
  const tracer = trace.getTracer(TELEMETRY_SCOPE, TELEMETRY_VERSION);
  const callDuration = meter.createHistogram('rpc.server.call.duration', {
    description: 'Duration of regstack procedure calls',
    unit: 's',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });
  const logins: Counter = meter.createCounter('regstack.login.attempts', {
    description: 'Login steps by outcome (regstack.login.step, regstack.login.outcome)',
    unit: '{attempt}',
    valueType: ValueType.INT,
  });
  const lockouts: Counter = meter.createCounter('regstack.lockouts', {
    description: 'Credential checks refused because the identifier is locked out (TOO_MANY_ATTEMPTS)',
    unit: '{attempt}',
    valueType: ValueType.INT,
  });
  // Attribute sets are built once per value, not per call: the counters are on the login path.
  const loginAttributes = new Map<string, Attributes>();

  return {
    tracer,
    callDuration,
    login(step, outcome) {
      const key = `${step}\0${outcome}`;
      let attributes = loginAttributes.get(key);
      if (!attributes) {
        attributes = { 'regstack.login.step': step, 'regstack.login.outcome': outcome };
        loginAttributes.set(key, attributes);
      }
      logins.add(1, attributes);
    },
    lockout() {
      lockouts.add(1);
    },
    observe(sources) {
      const pending = meter.createObservableGauge('regstack.outbox.pending', {
        description: 'Outbox rows not yet delivered (mail and durable jobs)',
        unit: '{message}',
        valueType: ValueType.INT,
      });
      const oldestAge = meter.createObservableGauge('regstack.outbox.oldest_pending_age', {
        description: 'Age of the oldest undelivered outbox row (0 when none)',
        unit: 's',
      });
      const queued = meter.createObservableGauge('regstack.hash.queued', {
        description: 'Password hashing calls waiting for a slot (hash_queue_limit bounds it)',
        unit: '{call}',
        valueType: ValueType.INT,
      });
      const active = meter.createObservableGauge('regstack.hash.active', {
        description: 'Password hashing calls running (hash_concurrency bounds it)',
        unit: '{call}',
        valueType: ValueType.INT,
      });
      const shed = meter.createObservableCounter('regstack.hash.shed', {
        description: 'Password hashing calls shed with SERVER_BUSY because the queue was full',
        unit: '{call}',
        valueType: ValueType.INT,
      });
      const readHashing: BatchObservableCallback = (result) => {
        const stats = sources.hashing();
        result.observe(queued, stats.queued);
        result.observe(active, stats.active);
        result.observe(shed, stats.shed);
      };
      const readOutbox: BatchObservableCallback = async (result) => {
        // A failed read (the database is down) reports nothing rather than a misleading zero.
        const stats = await sources.outbox().catch(() => null);
        if (!stats) return;
        result.observe(pending, stats.pending);
        result.observe(oldestAge, stats.oldestAgeSeconds);
      };
      meter.addBatchObservableCallback(readHashing, [queued, active, shed]);
      meter.addBatchObservableCallback(readOutbox, [pending, oldestAge]);
      return () => {
        meter.removeBatchObservableCallback(readHashing, [queued, active, shed]);
        meter.removeBatchObservableCallback(readOutbox, [pending, oldestAge]);
      };
    },
  };
}
