import { Migration } from '@mikro-orm/migrations';

export class Migration20261206150749 extends Migration {
  override name = 'Migration20261206150749';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "oauth_identities" ("id" varchar(36) not null, "user_id" varchar(36) not null, "provider" varchar(64) not null, "subject" varchar(255) not null, "email" varchar(254) null, "created_at" timestamptz(3) not null, "last_used_at" timestamptz(3) null, primary key ("id"));`,
    );
    this.addSql(`create index "oauth_identities_user_id_index" on "oauth_identities" ("user_id");`);
    this.addSql(
      `alter table "oauth_identities" add constraint "oauth_identities_provider_subject_unique" unique ("provider", "subject");`,
    );

    this.addSql(
      `create table "oauth_states" ("id" varchar(64) not null, "kind" varchar(16) not null, "provider" varchar(64) not null, "nonce" varchar(128) null, "code_verifier" varchar(128) null, "redirect_to" varchar(2048) null, "user_id" varchar(36) null, "expires_at" timestamptz(3) not null, "created_at" timestamptz(3) not null, primary key ("id"));`,
    );
    this.addSql(`create index "oauth_states_expires_at_index" on "oauth_states" ("expires_at");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "oauth_identities" cascade;`);
    this.addSql(`drop table if exists "oauth_states" cascade;`);
  }
}
