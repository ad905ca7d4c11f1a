import { Migration } from '@mikro-orm/migrations';

/**
 * Per-user indexes that keep reads flat however long a user's history (issue 14, item 4): revocations by
 * (user_id, session_id, revoked_at), sessions by (user_id, created_at).
 */
export class Migration20261206065731 extends Migration {
  override name = 'Migration20261206065731';

  override up(): void | Promise<void> {
    this.addSql(`drop index \`revocations_user_id_revoked_at_index\`;`);
    this.addSql(
      `create index \`revocations_user_id_session_id_revoked_at_index\` on \`revocations\` (\`user_id\`, \`session_id\`, \`revoked_at\`);`,
    );

    this.addSql(`drop index \`sessions_user_id_index\`;`);
    this.addSql(`create index \`sessions_user_id_created_at_index\` on \`sessions\` (\`user_id\`, \`created_at\`);`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index \`revocations_user_id_session_id_revoked_at_index\`;`);
    this.addSql(
      `create index \`revocations_user_id_revoked_at_index\` on \`revocations\` (\`user_id\`, \`revoked_at\`);`,
    );

    this.addSql(`drop index \`sessions_user_id_created_at_index\`;`);
    this.addSql(`create index \`sessions_user_id_index\` on \`sessions\` (\`user_id\`);`);
  }
}
