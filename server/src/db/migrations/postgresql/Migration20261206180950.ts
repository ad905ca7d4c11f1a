/**
 * oauth_states.browser_binding (issue 22, login CSRF): SHA-256 of the binding cookie of the browser that started a
 * sign-in; the callback and the pages' `/oauth-complete` refuse any other browser.
 */
import { Migration } from '@mikro-orm/migrations';

export class Migration20261206180950 extends Migration {
  override name = 'Migration20261206180950';

  override up(): void | Promise<void> {
    this.addSql(`alter table "oauth_states" add "browser_binding" varchar(64) null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "oauth_states" drop column "browser_binding";`);
  }
}
