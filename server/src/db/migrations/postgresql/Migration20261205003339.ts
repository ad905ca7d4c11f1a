import { Migration } from '@mikro-orm/migrations';

/** `regstack_record_attempt` (server/src/db/routines.ts): an attempt recorded and counted in one round trip. */
export class Migration20261205003339 extends Migration {
  override name = 'Migration20261205003339';

  override up(): void | Promise<void> {
    this.addSql(
      `create or replace function "regstack_record_attempt"("p_id" varchar, "p_key" varchar, "p_at" timestamptz, "p_window_start" timestamptz) returns bigint volatile language plpgsql as $$ begin perform set_config('synchronous_commit', 'off', true); perform pg_advisory_xact_lock(1920169057, hashtext(p_key)); insert into login_attempts (id, "key", created_at) values (p_id, p_key, p_at); return (select count(*) from login_attempts where "key" = p_key and created_at > p_window_start); end $$;`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop function if exists "regstack_record_attempt"(varchar, varchar, timestamptz, timestamptz);`);
  }
}
