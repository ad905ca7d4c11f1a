import { Migration } from '@mikro-orm/migrations';

export class Migration20261206121548 extends Migration {
  override name = 'Migration20261206121548';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "mfa_recovery_codes" ("id" varchar(36) not null, "user_id" varchar(36) not null, "code_hash" varchar(64) not null, "used_at" timestamptz(3) null, "created_at" timestamptz(3) not null, primary key ("id"));`,
    );
    this.addSql(`create index "mfa_recovery_codes_user_id_index" on "mfa_recovery_codes" ("user_id");`);
    this.addSql(
      `alter table "mfa_recovery_codes" add constraint "mfa_recovery_codes_code_hash_unique" unique ("code_hash");`,
    );

    this.addSql(
      `create table "mfa_totp" ("id" varchar(36) not null, "user_id" varchar(36) not null, "sealed_secret" varchar(255) not null, "confirmed_at" timestamptz(3) null, "last_used_step" int null, "created_at" timestamptz(3) not null, "updated_at" timestamptz(3) not null, primary key ("id"));`,
    );
    this.addSql(`alter table "mfa_totp" add constraint "mfa_totp_user_id_unique" unique ("user_id");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "mfa_recovery_codes" cascade;`);
    this.addSql(`drop table if exists "mfa_totp" cascade;`);
  }
}
