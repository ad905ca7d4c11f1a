import { Migration } from '@mikro-orm/migrations';

export class Migration20261206151158 extends Migration {
  override name = 'Migration20261206151158';

  override up(): void | Promise<void> {
    this.addSql(
      `create index \`email_outbox_status_created_at_index\` on \`email_outbox\` (\`status\`, \`created_at\`);`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index \`email_outbox_status_created_at_index\`;`);
  }
}
