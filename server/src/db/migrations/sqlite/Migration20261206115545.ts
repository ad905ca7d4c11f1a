import { Migration } from '@mikro-orm/migrations';

export class Migration20261206115545 extends Migration {
  override name = 'Migration20261206115545';

  override up(): void | Promise<void> {
    this.addSql(`alter table \`sessions\` add column \`impersonator_id\` text null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table \`sessions\` drop column \`impersonator_id\`;`);
  }
}
