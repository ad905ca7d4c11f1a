/**
 * Database routines regstack declares to the ORM (MikroORM `Routine`s), so its migrations create them and its
 * schema diff knows them. PostgreSQL only.
 */
import { Routine } from '@mikro-orm/core';

/**
 * `regstack_record_attempt(id, key, at, window_start)`: records one attempt on `key` (the lockout counter, the
 * per-client limits) and returns how many the window holds, this one included — one round trip where an insert
 * and a count took two (login-attempt.repository.ts).
 *
 * R17 needs every count to include each attempt committed before it. One plain statement cannot do that: its
 * snapshot is taken when it starts, so two concurrent attempts could each miss the other. So the function first
 * takes a transaction-scoped advisory lock on the key (attempts on one key queue there until the holder's
 * transaction has committed), then inserts, then counts; in a volatile function each query takes a fresh
 * snapshot, so the count sees every attempt an earlier holder committed, and its own row. The statement that
 * calls it must be its own transaction: the lock, and `synchronous_commit = off`, last until that transaction
 * ends. Advisory lock class 1920169057 (0x72737461, "rsta"), with the key's hash.
 */
export const recordAttemptRoutine = new Routine({
  name: 'regstack_record_attempt',
  type: 'function',
  language: 'plpgsql',
  deterministic: false,
  params: {
    p_id: { type: 'varchar' },
    p_key: { type: 'varchar' },
    p_at: { type: 'timestamptz' },
    p_window_start: { type: 'timestamptz' },
  },
  returns: { runtimeType: 'string', columnType: 'bigint' },
  body: `perform set_config('synchronous_commit', 'off', true);
perform pg_advisory_xact_lock(1920169057, hashtext(p_key));
insert into login_attempts (id, "key", created_at) values (p_id, p_key, p_at);
return (select count(*) from login_attempts where "key" = p_key and created_at > p_window_start);`,
});

/**
 * `regstack_record_try(id, try_key, fail_key, at, window_start, stale_before)`: records one password check in
 * flight (a *try*, on `try_key`) and returns the window's `{ total, failures }` — live tries and failures
 * together, and the failures alone (those on `fail_key`; a try at or before `stale_before` never finished and no
 * longer counts) —
 * in one round trip (login-attempt.repository.ts `recordTry`, lockout.service.ts). The same discipline as
 * `regstack_record_attempt` above: an advisory lock on the account's key, then the insert, then counts under a
 * fresh snapshot, so every count includes each try or failure committed before it (R17); the calling statement
 * is its own transaction. A try is in flight only: losing one to a crash loses nothing (its check never
 * answered), hence `synchronous_commit = off`; the failure that replaces it commits normally.
 */
export const recordTryRoutine = new Routine({
  name: 'regstack_record_try',
  type: 'function',
  language: 'plpgsql',
  deterministic: false,
  params: {
    p_id: { type: 'varchar' },
    p_try_key: { type: 'varchar' },
    p_fail_key: { type: 'varchar' },
    p_at: { type: 'timestamptz' },
    p_window_start: { type: 'timestamptz' },
    p_stale_before: { type: 'timestamptz' },
  },
  returns: { runtimeType: 'object', columnType: 'json' },
  body: `perform set_config('synchronous_commit', 'off', true);
perform pg_advisory_xact_lock(1920169057, hashtext(p_fail_key));
insert into login_attempts (id, "key", created_at) values (p_id, p_try_key, p_at);
return (select json_build_object('total', count(*), 'failures', count(*) filter (where "key" = p_fail_key))
  from login_attempts where "key" in (p_try_key, p_fail_key) and created_at > p_window_start
    and ("key" <> p_try_key or created_at > p_stale_before));`,
});
