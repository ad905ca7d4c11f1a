import { Migration } from '@mikro-orm/migrations';

export class Migration20261206115546 extends Migration {
  override name = 'Migration20261206115546';

  override up(): void | Promise<void> {
    this.addSql(`alter table "sessions" add "impersonator_id" varchar(36) null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "sessions" drop column "impersonator_id";`);
  }
}
