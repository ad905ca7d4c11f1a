import { Migration } from '@mikro-orm/migrations';

/**
 * Issue 14 item 7 (R67): each sign-up attempt keeps its own pending row, so `pending_registrations.email` is no
 * longer unique; a plain index keeps the lookups by address fast.
 */
export class Migration20261206064154 extends Migration {
  override name = 'Migration20261206064154';

  override up(): void | Promise<void> {
    this.addSql(`alter table "pending_registrations" drop constraint "pending_registrations_email_unique";`);
    this.addSql(`create index "pending_registrations_email_index" on "pending_registrations" ("email");`);
  }

  override down(): void | Promise<void> {
    // Only possible while no address has more than one pending attempt.
    this.addSql(`drop index "pending_registrations_email_index";`);
    this.addSql(
      `alter table "pending_registrations" add constraint "pending_registrations_email_unique" unique ("email");`,
    );
  }
}
