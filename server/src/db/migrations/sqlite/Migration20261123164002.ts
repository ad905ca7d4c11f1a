import { Migration } from '@mikro-orm/migrations';

export class Migration20261123164002 extends Migration {
  override name = 'Migration20261123164002';

  override up(): void | Promise<void> {
    this.addSql(
      `create table \`audit_events\` (\`id\` text not null primary key, \`event\` text not null, \`actor_id\` text null, \`subject_id\` text null, \`ip\` text null, \`user_agent\` text null, \`details\` json null, \`created_at\` datetime not null);`,
    );
    this.addSql(`create index \`audit_events_event_index\` on \`audit_events\` (\`event\`);`);
    this.addSql(`create index \`audit_events_subject_id_index\` on \`audit_events\` (\`subject_id\`);`);

    this.addSql(
      `create table \`claims\` (\`id\` text not null primary key, \`scope\` text not null, \`created_at\` datetime not null, \`expires_at\` datetime not null);`,
    );
    this.addSql(`create index \`claims_scope_index\` on \`claims\` (\`scope\`);`);
    this.addSql(`create index \`claims_expires_at_index\` on \`claims\` (\`expires_at\`);`);

    this.addSql(
      `create table \`email_outbox\` (\`id\` text not null primary key, \`kind\` text not null, \`to_address\` text not null, \`payload\` text not null, \`status\` text not null, \`attempts\` integer not null default 0, \`next_attempt_at\` datetime not null, \`last_error\` text null, \`created_at\` datetime not null, \`sent_at\` datetime null);`,
    );
    this.addSql(
      `create index \`email_outbox_status_next_attempt_at_index\` on \`email_outbox\` (\`status\`, \`next_attempt_at\`);`,
    );

    this.addSql(
      `create table \`login_attempts\` (\`id\` text not null primary key, \`key\` text not null, \`created_at\` datetime not null);`,
    );
    this.addSql(
      `create index \`login_attempts_key_created_at_index\` on \`login_attempts\` (\`key\`, \`created_at\`);`,
    );

    this.addSql(
      `create table \`mfa_codes\` (\`id\` text not null primary key, \`user_id\` text not null, \`purpose\` text not null, \`challenge_id\` text not null, \`code_hash\` text not null, \`phone_number\` text null, \`expires_at\` datetime not null, \`consumed_at\` datetime null, \`created_at\` datetime not null);`,
    );
    this.addSql(`create index \`mfa_codes_user_id_index\` on \`mfa_codes\` (\`user_id\`);`);
    this.addSql(`create unique index \`mfa_codes_challenge_id_unique\` on \`mfa_codes\` (\`challenge_id\`);`);

    this.addSql(
      `create table \`one_time_tokens\` (\`id\` text not null primary key, \`token_hash\` text not null, \`purpose\` text not null, \`subject_id\` text not null, \`target_email\` text null, \`expires_at\` datetime not null, \`used_at\` datetime null, \`created_at\` datetime not null);`,
    );
    this.addSql(`create unique index \`one_time_tokens_token_hash_unique\` on \`one_time_tokens\` (\`token_hash\`);`);
    this.addSql(`create index \`one_time_tokens_subject_id_index\` on \`one_time_tokens\` (\`subject_id\`);`);

    this.addSql(
      `create table \`pending_registrations\` (\`id\` text not null primary key, \`email\` text not null, \`hashed_password\` text not null, \`full_name\` text null, \`expires_at\` datetime not null, \`created_at\` datetime not null);`,
    );
    this.addSql(`create unique index \`pending_registrations_email_unique\` on \`pending_registrations\` (\`email\`);`);
    this.addSql(
      `create index \`pending_registrations_expires_at_index\` on \`pending_registrations\` (\`expires_at\`);`,
    );

    this.addSql(
      `create table \`revocations\` (\`id\` text not null primary key, \`user_id\` text not null, \`session_id\` text null, \`revoked_at\` datetime not null, \`reason\` text not null);`,
    );
    this.addSql(
      `create index \`revocations_user_id_revoked_at_index\` on \`revocations\` (\`user_id\`, \`revoked_at\`);`,
    );

    this.addSql(
      `create table \`sessions\` (\`id\` text not null primary key, \`user_id\` text not null, \`created_at\` datetime not null, \`last_seen_at\` datetime not null, \`expires_at\` datetime not null, \`user_agent\` text null, \`ip\` text null);`,
    );
    this.addSql(`create index \`sessions_user_id_index\` on \`sessions\` (\`user_id\`);`);
    this.addSql(`create index \`sessions_expires_at_index\` on \`sessions\` (\`expires_at\`);`);

    this.addSql(
      `create table \`users\` (\`id\` text not null primary key, \`email\` text not null, \`hashed_password\` text null, \`full_name\` text null, \`phone_number\` text null, \`is_active\` integer not null default true, \`is_verified\` integer not null default false, \`is_superuser\` integer not null default false, \`is_mfa_enabled\` integer not null default false, \`created_at\` datetime not null, \`updated_at\` datetime not null, \`last_login_at\` datetime null);`,
    );
    this.addSql(`create unique index \`users_email_unique\` on \`users\` (\`email\`);`);
    this.addSql(`create unique index \`users_phone_number_unique\` on \`users\` (\`phone_number\`);`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists \`audit_events\`;`);
    this.addSql(`drop table if exists \`claims\`;`);
    this.addSql(`drop table if exists \`email_outbox\`;`);
    this.addSql(`drop table if exists \`login_attempts\`;`);
    this.addSql(`drop table if exists \`mfa_codes\`;`);
    this.addSql(`drop table if exists \`one_time_tokens\`;`);
    this.addSql(`drop table if exists \`pending_registrations\`;`);
    this.addSql(`drop table if exists \`revocations\`;`);
    this.addSql(`drop table if exists \`sessions\`;`);
    this.addSql(`drop table if exists \`users\`;`);
  }
}
