import { Migration } from '@mikro-orm/migrations';

export class Migration20261123164002 extends Migration {
  override name = 'Migration20261123164002';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "audit_events" ("id" varchar(36) not null, "event" varchar(64) not null, "actor_id" varchar(36) null, "subject_id" varchar(36) null, "ip" varchar(64) null, "user_agent" varchar(512) null, "details" jsonb null, "created_at" timestamptz(3) not null, primary key ("id"));`,
    );
    this.addSql(`create index "audit_events_event_index" on "audit_events" ("event");`);
    this.addSql(`create index "audit_events_subject_id_index" on "audit_events" ("subject_id");`);

    this.addSql(
      `create table "claims" ("id" varchar(160) not null, "scope" varchar(120) not null, "created_at" timestamptz(3) not null, "expires_at" timestamptz(3) not null, primary key ("id"));`,
    );
    this.addSql(`create index "claims_scope_index" on "claims" ("scope");`);
    this.addSql(`create index "claims_expires_at_index" on "claims" ("expires_at");`);

    this.addSql(
      `create table "email_outbox" ("id" varchar(36) not null, "kind" varchar(64) not null, "to_address" varchar(254) not null, "payload" text not null, "status" varchar(16) not null, "attempts" int not null default 0, "next_attempt_at" timestamptz(3) not null, "last_error" varchar(500) null, "created_at" timestamptz(3) not null, "sent_at" timestamptz(3) null, primary key ("id"));`,
    );
    this.addSql(
      `create index "email_outbox_status_next_attempt_at_index" on "email_outbox" ("status", "next_attempt_at");`,
    );

    this.addSql(
      `create table "login_attempts" ("id" varchar(36) not null, "key" varchar(300) not null, "created_at" timestamptz(3) not null, primary key ("id"));`,
    );
    this.addSql(`create index "login_attempts_key_created_at_index" on "login_attempts" ("key", "created_at");`);

    this.addSql(
      `create table "mfa_codes" ("id" varchar(36) not null, "user_id" varchar(36) not null, "purpose" varchar(32) not null, "challenge_id" varchar(64) not null, "code_hash" varchar(64) not null, "phone_number" varchar(16) null, "expires_at" timestamptz(3) not null, "consumed_at" timestamptz(3) null, "created_at" timestamptz(3) not null, primary key ("id"));`,
    );
    this.addSql(`create index "mfa_codes_user_id_index" on "mfa_codes" ("user_id");`);
    this.addSql(`alter table "mfa_codes" add constraint "mfa_codes_challenge_id_unique" unique ("challenge_id");`);

    this.addSql(
      `create table "one_time_tokens" ("id" varchar(36) not null, "token_hash" varchar(64) not null, "purpose" varchar(32) not null, "subject_id" varchar(36) not null, "target_email" varchar(254) null, "expires_at" timestamptz(3) not null, "used_at" timestamptz(3) null, "created_at" timestamptz(3) not null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "one_time_tokens" add constraint "one_time_tokens_token_hash_unique" unique ("token_hash");`,
    );
    this.addSql(`create index "one_time_tokens_subject_id_index" on "one_time_tokens" ("subject_id");`);

    this.addSql(
      `create table "pending_registrations" ("id" varchar(36) not null, "email" varchar(254) not null, "hashed_password" varchar(255) not null, "full_name" varchar(200) null, "expires_at" timestamptz(3) not null, "created_at" timestamptz(3) not null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "pending_registrations" add constraint "pending_registrations_email_unique" unique ("email");`,
    );
    this.addSql(`create index "pending_registrations_expires_at_index" on "pending_registrations" ("expires_at");`);

    this.addSql(
      `create table "revocations" ("id" varchar(40) not null, "user_id" varchar(36) not null, "session_id" varchar(36) null, "revoked_at" timestamptz(3) not null, "reason" varchar(64) not null, primary key ("id"));`,
    );
    this.addSql(`create index "revocations_user_id_revoked_at_index" on "revocations" ("user_id", "revoked_at");`);

    this.addSql(
      `create table "sessions" ("id" varchar(36) not null, "user_id" varchar(36) not null, "created_at" timestamptz(3) not null, "last_seen_at" timestamptz(3) not null, "expires_at" timestamptz(3) not null, "user_agent" varchar(512) null, "ip" varchar(64) null, primary key ("id"));`,
    );
    this.addSql(`create index "sessions_user_id_index" on "sessions" ("user_id");`);
    this.addSql(`create index "sessions_expires_at_index" on "sessions" ("expires_at");`);

    this.addSql(
      `create table "users" ("id" varchar(36) not null, "email" varchar(254) not null, "hashed_password" varchar(255) null, "full_name" varchar(200) null, "phone_number" varchar(16) null, "is_active" boolean not null default true, "is_verified" boolean not null default false, "is_superuser" boolean not null default false, "is_mfa_enabled" boolean not null default false, "created_at" timestamptz(3) not null, "updated_at" timestamptz(3) not null, "last_login_at" timestamptz(3) null, primary key ("id"));`,
    );
    this.addSql(`alter table "users" add constraint "users_email_unique" unique ("email");`);
    this.addSql(`alter table "users" add constraint "users_phone_number_unique" unique ("phone_number");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "audit_events" cascade;`);
    this.addSql(`drop table if exists "claims" cascade;`);
    this.addSql(`drop table if exists "email_outbox" cascade;`);
    this.addSql(`drop table if exists "login_attempts" cascade;`);
    this.addSql(`drop table if exists "mfa_codes" cascade;`);
    this.addSql(`drop table if exists "one_time_tokens" cascade;`);
    this.addSql(`drop table if exists "pending_registrations" cascade;`);
    this.addSql(`drop table if exists "revocations" cascade;`);
    this.addSql(`drop table if exists "sessions" cascade;`);
    this.addSql(`drop table if exists "users" cascade;`);
  }
}
