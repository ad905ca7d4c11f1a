import { Migration } from '@mikro-orm/migrations';
import { backfillNameTerms } from '../backfill-name-terms.ts';

/**
 * The admin search (issue 17): name words (user-name-term.entity.ts), filled for the users already there, and the
 * email in byte order. Both columns are collated "C" by hand (the entities ignore collation): a prefix is a range of
 * a b-tree only in byte order, and the database's default collation may be a language's. Equality, and so the
 * unique email (R66), is the same under either; the email sort becomes byte order, as on SQLite and MongoDB.
 */
export class Migration20261206151303 extends Migration {
  override name = 'Migration20261206151303';

  override async up(): Promise<void> {
    // Run here, not queued with addSql: the backfill needs the table, and all of it is the migration's transaction.
    await this.execute(`alter table "users" alter column "email" type varchar(254) collate "C";`);
    await this.execute(
      `create table "user_name_terms" ("id" varchar(36) not null, "term" varchar(64) collate "C" not null, "user_id" varchar(36) not null, primary key ("id"));`,
    );
    await backfillNameTerms((sql, params) => this.execute(sql, params));
    // Indexes after the bulk insert: built once, not row by row.
    await this.execute(`create index "user_name_terms_user_id_term_index" on "user_name_terms" ("user_id", "term");`);
    await this.execute(
      `alter table "user_name_terms" add constraint "user_name_terms_term_user_id_unique" unique ("term", "user_id");`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "user_name_terms" cascade;`);
    this.addSql(`alter table "users" alter column "email" type varchar(254);`);
  }
}
