import { Migration } from '@mikro-orm/migrations';

export class Migration20261206150748 extends Migration {
  override name = 'Migration20261206150748';

  override up(): void | Promise<void> {
    this.addSql(
      `create table \`oauth_identities\` (\`id\` text not null primary key, \`user_id\` text not null, \`provider\` text not null, \`subject\` text not null, \`email\` text null, \`created_at\` datetime not null, \`last_used_at\` datetime null);`,
    );
    this.addSql(`create index \`oauth_identities_user_id_index\` on \`oauth_identities\` (\`user_id\`);`);
    this.addSql(
      `create unique index \`oauth_identities_provider_subject_unique\` on \`oauth_identities\` (\`provider\`, \`subject\`);`,
    );

    this.addSql(
      `create table \`oauth_states\` (\`id\` text not null primary key, \`kind\` text not null, \`provider\` text not null, \`nonce\` text null, \`code_verifier\` text null, \`redirect_to\` text null, \`user_id\` text null, \`expires_at\` datetime not null, \`created_at\` datetime not null);`,
    );
    this.addSql(`create index \`oauth_states_expires_at_index\` on \`oauth_states\` (\`expires_at\`);`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists \`oauth_identities\`;`);
    this.addSql(`drop table if exists \`oauth_states\`;`);
  }
}
