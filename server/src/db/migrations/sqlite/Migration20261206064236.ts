import { Migration } from '@mikro-orm/migrations';

/** The revocations index for per-user reads that skip the per-session facts (issue 14, item 4). */
export class Migration20261206064236 extends Migration {
  override name = 'Migration20261206064236';

  override up(): void | Promise<void> {
    this.addSql(`drop index \`revocations_user_id_revoked_at_index\`;`);
    this.addSql(
      `create index \`revocations_user_id_session_id_revoked_at_index\` on \`revocations\` (\`user_id\`, \`session_id\`, \`revoked_at\`);`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index \`revocations_user_id_session_id_revoked_at_index\`;`);
    this.addSql(
      `create index \`revocations_user_id_revoked_at_index\` on \`revocations\` (\`user_id\`, \`revoked_at\`);`,
    );
  }
}
