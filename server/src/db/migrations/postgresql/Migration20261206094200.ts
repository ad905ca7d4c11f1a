import { Migration } from '@mikro-orm/migrations';

/**
 * Indexes for the admin surface (issue 17): users paged by keyset on (created_at, id) and (last_login_at, id);
 * audit events filtered by actor and counted per type and day.
 */
export class Migration20261206094200 extends Migration {
  override name = 'Migration20261206094200';

  override up(): void | Promise<void> {
    this.addSql(`create index "audit_events_actor_id_index" on "audit_events" ("actor_id");`);
    this.addSql(`create index "audit_events_event_created_at_index" on "audit_events" ("event", "created_at");`);

    this.addSql(`create index "users_created_at_id_index" on "users" ("created_at", "id");`);
    this.addSql(`create index "users_last_login_at_id_index" on "users" ("last_login_at", "id");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index "audit_events_actor_id_index";`);
    this.addSql(`drop index "audit_events_event_created_at_index";`);

    this.addSql(`drop index "users_created_at_id_index";`);
    this.addSql(`drop index "users_last_login_at_id_index";`);
  }
}
