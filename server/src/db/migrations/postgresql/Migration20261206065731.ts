import { Migration } from '@mikro-orm/migrations';

/**
 * Per-user indexes that keep reads flat however long a user's history (issue 14, item 4): revocations by
 * (user_id, session_id, revoked_at), sessions by (user_id, created_at). And `regstack_record_try`
 * (server/src/db/routines.ts): a login try recorded and counted in one round trip (R17, R70).
 */
export class Migration20261206065731 extends Migration {
  override name = 'Migration20261206065731';

  override up(): void | Promise<void> {
    this.addSql(`drop index "revocations_user_id_revoked_at_index";`);
    this.addSql(
      `create index "revocations_user_id_session_id_revoked_at_index" on "revocations" ("user_id", "session_id", "revoked_at");`,
    );

    this.addSql(`drop index "sessions_user_id_index";`);
    this.addSql(`create index "sessions_user_id_created_at_index" on "sessions" ("user_id", "created_at");`);

    this.addSql(`create or replace function "regstack_record_try"("p_id" varchar, "p_try_key" varchar, "p_fail_key" varchar, "p_at" timestamptz, "p_window_start" timestamptz, "p_stale_before" timestamptz) returns json volatile language plpgsql as $$ begin perform set_config('synchronous_commit', 'off', true); perform pg_advisory_xact_lock(1920169057, hashtext(p_fail_key)); insert into login_attempts (id, "key", created_at) values (p_id, p_try_key, p_at); return (select json_build_object('total', count(*), 'failures', count(*) filter (where "key" = p_fail_key))
  from login_attempts where "key" in (p_try_key, p_fail_key) and created_at > p_window_start
    and ("key" <> p_try_key or created_at > p_stale_before)); end $$;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index "revocations_user_id_session_id_revoked_at_index";`);
    this.addSql(`create index "revocations_user_id_revoked_at_index" on "revocations" ("user_id", "revoked_at");`);

    this.addSql(`drop index "sessions_user_id_created_at_index";`);
    this.addSql(`create index "sessions_user_id_index" on "sessions" ("user_id");`);

    this.addSql(
      `drop function if exists "regstack_record_try"(varchar, varchar, varchar, timestamptz, timestamptz, timestamptz);`,
    );
  }
}
