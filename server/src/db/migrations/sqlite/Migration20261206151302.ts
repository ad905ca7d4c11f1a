import { Migration } from '@mikro-orm/migrations';
import { backfillNameTerms } from '../backfill-name-terms.ts';

/** The admin search's name words (issue 17, user-name-term.entity.ts), filled for the users already there. */
export class Migration20261206151302 extends Migration {
  override name = 'Migration20261206151302';

  override async up(): Promise<void> {
    // Run here, not queued with addSql: the backfill needs the table, and all of it is the migration's transaction.
    await this.execute(
      `create table \`user_name_terms\` (\`id\` text not null primary key, \`term\` text not null, \`user_id\` text not null);`,
    );
    await this.execute(
      `create index \`user_name_terms_user_id_term_index\` on \`user_name_terms\` (\`user_id\`, \`term\`);`,
    );
    await this.execute(
      `create unique index \`user_name_terms_term_user_id_unique\` on \`user_name_terms\` (\`term\`, \`user_id\`);`,
    );
    await backfillNameTerms((sql, params) => this.execute(sql, params));
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists \`user_name_terms\`;`);
  }
}
