/**
 * Indexes for the purge's cutoff columns (issue 20 item 1): each purge batch and each `--dry-run` count is an index
 * range instead of a scan of a table that grows with use (audit log, login attempts, one-time tokens, MFA codes,
 * delivered mail).
 */
import { Migration } from '@mikro-orm/migrations';

export class Migration20261206161345 extends Migration {
  override name = 'Migration20261206161345';

  override up(): void | Promise<void> {
    this.addSql(`create index \`audit_events_created_at_index\` on \`audit_events\` (\`created_at\`);`);

    this.addSql(`create index \`email_outbox_status_sent_at_index\` on \`email_outbox\` (\`status\`, \`sent_at\`);`);

    this.addSql(`create index \`login_attempts_created_at_index\` on \`login_attempts\` (\`created_at\`);`);

    this.addSql(`create index \`mfa_codes_expires_at_index\` on \`mfa_codes\` (\`expires_at\`);`);

    this.addSql(`create index \`one_time_tokens_expires_at_index\` on \`one_time_tokens\` (\`expires_at\`);`);
    this.addSql(`create index \`one_time_tokens_used_at_index\` on \`one_time_tokens\` (\`used_at\`);`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index \`audit_events_created_at_index\`;`);

    this.addSql(`drop index \`email_outbox_status_sent_at_index\`;`);

    this.addSql(`drop index \`login_attempts_created_at_index\`;`);

    this.addSql(`drop index \`mfa_codes_expires_at_index\`;`);

    this.addSql(`drop index \`one_time_tokens_expires_at_index\`;`);
    this.addSql(`drop index \`one_time_tokens_used_at_index\`;`);
  }
}
