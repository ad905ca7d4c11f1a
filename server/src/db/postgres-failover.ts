/**
 * libpq's host lists and `target_session_attrs` for node-postgres, which has neither (issue 21): every new pool
 * connection tries the URL's hosts in order, and keeps the first that answers and matches the attributes — so after
 * a failover the pools reconnect to the promoted standby by themselves. No home-made clustering: which server is
 * the primary is PostgreSQL's answer at connect time, nothing is remembered between connections.
 */
import { EventEmitter } from 'node:events';
import type { PgHost, PgSessionTarget } from './database-url.ts';

/** The parts of node-postgres's `Client` used here and by pg-pool, kysely and pg-cursor over it (structural). */
export interface PgBaseClient extends EventEmitter {
  connect(): Promise<unknown>;
  query(...args: unknown[]): unknown;
  end(callback?: (err?: Error) => void): Promise<void> | undefined;
  connection: unknown;
  _ending: boolean;
  _queryable: boolean;
  ref?(): void;
  unref?(): void;
}
export type PgClientClass = new (options: Record<string, unknown>) => PgBaseClient;

/**
 * No host of the list answered with a matching session. `errors` holds each host's failure; the message names each
 * host and port with its reason, never the credentials. Hosts that are down or only standbys — no primary right now,
 * the old one gone and the new one not yet promoted — are an outage like any other (outages.ts: 503 with
 * Retry-After; R71); a wrong password everywhere is not.
 */
export class PgNoMatchingServerError extends AggregateError {
  override readonly name = 'PgNoMatchingServerError';
}

/** A host whose session does not match `target_session_attrs` (it answered, but it is a standby or read-only). */
export class PgSessionMismatchError extends Error {
  override readonly name = 'PgSessionMismatchError';
}

/** The events of node-postgres's client a holder may listen to, passed on from the connection in use. */
const FORWARDED_EVENTS = ['error', 'end', 'notice', 'notification'] as const;

/**
 * Whether a connected client's session is what `attrs` asks for (libpq's checks, by query). The check is part of
 * connecting, as in libpq: it waits at most what is left of the host's connect timeout (`timeoutMs`, none when 0) —
 * a pgbouncer whose server is down accepts the login and would hold the query until its own timeouts.
 */
async function matches(
  client: PgBaseClient,
  attrs: PgSessionTarget['targetSessionAttrs'],
  timeoutMs: number,
): Promise<boolean> {
  if (attrs === 'any') return true;
  const text = attrs === 'read-write' ? 'show transaction_read_only' : 'select pg_is_in_recovery() as in_recovery';
  const result = (await client.query({ text, ...(timeoutMs > 0 && { query_timeout: timeoutMs }) })) as {
    rows: Array<Record<string, unknown>>;
  };
  const row = result.rows[0] ?? {};
  return attrs === 'read-write' ? row.transaction_read_only === 'off' : row.in_recovery === false;
}

const describe = (h: PgHost) => (h.host.includes(':') ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`);

/**
 * A client class for node-postgres's pool over `target`: each instance connects to the first host of the list
 * that accepts the connection and matches the attributes (a host that refuses, times out — node-postgres's
 * `connectionTimeoutMillis`, per host and covering the check, as libpq's `connect_timeout` — or does not match is
 * left for the next),
 * then stands for that connection: queries, events and `end` go to it. pg-pool, kysely and pg-cursor only use
 * what is passed on below. `Base` is node-postgres's `Client`, the one MikroORM's pool would have used.
 */
export function failoverClient(Base: PgClientClass, target: PgSessionTarget): PgClientClass {
  return class FailoverClient extends EventEmitter {
    readonly #options: Record<string, unknown>;
    /** The connection in use, once one matched. */
    #inner: PgBaseClient | null = null;
    /** The attempt under way (pg-pool's connect timeout destroys its socket). */
    #attempt: PgBaseClient | null = null;
    #ending = false;

    constructor(options: Record<string, unknown>) {
      super();
      // pg-pool keeps the password non-enumerable: carried over by name, never spread.
      this.#options = { ...options, password: options.password };
    }

    get connection(): unknown {
      return (this.#inner ?? this.#attempt)?.connection;
    }
    get _ending(): boolean {
      return this.#inner ? this.#inner._ending : this.#ending;
    }
    get _queryable(): boolean {
      return this.#inner ? this.#inner._queryable : false;
    }
    isConnected(): boolean {
      return this.#inner !== null;
    }

    connect(callback?: (err: Error | null, client?: unknown) => void): Promise<this> | undefined {
      const connected = this.#connect().then(() => this);
      if (!callback) return connected;
      connected.then(
        () => callback(null, this),
        (err: Error) => callback(err),
      );
      return undefined;
    }

    async #connect(): Promise<void> {
      if (this.#inner || this.#attempt)
        throw new Error('Client has already been connected. You cannot reuse a client.');
      const failures: Error[] = [];
      const reasons: string[] = [];
      for (const host of target.hosts) {
        if (this.#ending) break;
        const client = new Base({ ...this.#options, host: host.host, port: host.port });
        // A failed or discarded attempt's late socket errors are of no interest to anyone.
        client.on('error', () => {});
        this.#attempt = client;
        const started = performance.now();
        try {
          await client.connect();
          const timeout = Number(this.#options.connectionTimeoutMillis) || 0;
          const left = timeout > 0 ? Math.max(1, Math.round(timeout - (performance.now() - started))) : 0;
          if (await matches(client, target.targetSessionAttrs, left)) {
            if (this.#ending) {
              await client.end();
              break;
            }
            this.#adopt(client);
            return;
          }
          failures.push(new PgSessionMismatchError(`${describe(host)}: not ${target.targetSessionAttrs}`));
          reasons.push(`${describe(host)}: not ${target.targetSessionAttrs}`);
        } catch (err) {
          const error = err instanceof Error ? err : new Error(String(err));
          failures.push(error);
          // node-postgres's messages name a host, a user or a database, never a password.
          reasons.push(`${describe(host)}: ${error.message.slice(0, 200)}`);
        }
        await client.end()?.catch(() => {});
      }
      throw new PgNoMatchingServerError(
        failures,
        `no PostgreSQL server of the list accepted a ${target.targetSessionAttrs} connection (${reasons.join('; ')})`,
      );
    }

    #adopt(client: PgBaseClient): void {
      this.#inner = client;
      client.removeAllListeners('error');
      for (const event of FORWARDED_EVENTS) client.on(event, (...args: unknown[]) => this.emit(event, ...args));
    }

    query(...args: unknown[]): unknown {
      if (!this.#inner) throw new Error('Client is not connected');
      return this.#inner.query(...args);
    }

    end(callback?: (err?: Error) => void): Promise<void> | undefined {
      this.#ending = true;
      const client = this.#inner ?? this.#attempt;
      const ended = client ? (client.end() ?? Promise.resolve()).catch(() => {}) : Promise.resolve();
      if (!this.#inner) {
        // Never connected: 'end' is still what pg-pool and node-postgres's callers wait for.
        void ended.then(() => this.emit('end'));
      }
      if (!callback) return ended;
      void ended.then(() => callback());
      return undefined;
    }

    ref(): void {
      this.#inner?.ref?.();
    }
    unref(): void {
      this.#inner?.unref?.();
    }
  } as unknown as PgClientClass;
}
