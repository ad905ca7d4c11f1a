import { Migration } from '@mikro-orm/migrations';

export class Migration20261206121547 extends Migration {
  override name = 'Migration20261206121547';

  override up(): void | Promise<void> {
    this.addSql(
      `create table \`mfa_recovery_codes\` (\`id\` text not null primary key, \`user_id\` text not null, \`code_hash\` text not null, \`used_at\` datetime null, \`created_at\` datetime not null);`,
    );
    this.addSql(`create index \`mfa_recovery_codes_user_id_index\` on \`mfa_recovery_codes\` (\`user_id\`);`);
    this.addSql(
      `create unique index \`mfa_recovery_codes_code_hash_unique\` on \`mfa_recovery_codes\` (\`code_hash\`);`,
    );

    this.addSql(
      `create table \`mfa_totp\` (\`id\` text not null primary key, \`user_id\` text not null, \`sealed_secret\` text not null, \`confirmed_at\` datetime null, \`last_used_step\` integer null, \`created_at\` datetime not null, \`updated_at\` datetime not null);`,
    );
    this.addSql(`create unique index \`mfa_totp_user_id_unique\` on \`mfa_totp\` (\`user_id\`);`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists \`mfa_recovery_codes\`;`);
    this.addSql(`drop table if exists \`mfa_totp\`;`);
  }
}
