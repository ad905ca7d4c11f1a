/**
 * The postgresql migrations, in order. Listed in code (not discovered from disk) so they ship inside the built
 * package and run the same from src/ and dist/. New ones come from `scripts/create-migration.ts`.
 */
import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261123164002 } from './Migration20261123164002.ts';
import { Migration20261205003339 } from './Migration20261205003339.ts';
import { Migration20261206064154 } from './Migration20261206064154.ts';
import { Migration20261206065731 } from './Migration20261206065731.ts';
import { Migration20261206094200 } from './Migration20261206094200.ts';
import { Migration20261206115546 } from './Migration20261206115546.ts';
import { Migration20261206121548 } from './Migration20261206121548.ts';
import { Migration20261206150749 } from './Migration20261206150749.ts';
import { Migration20261206151159 } from './Migration20261206151159.ts';
import { Migration20261206151303 } from './Migration20261206151303.ts';
import { Migration20261206161347 } from './Migration20261206161347.ts';
import { Migration20261206180950 } from './Migration20261206180950.ts';

export const postgresqlMigrations: MigrationObject[] = [
  { name: 'Migration20261123164002', class: Migration20261123164002 },
  { name: 'Migration20261205003339', class: Migration20261205003339 },
  { name: 'Migration20261206064154', class: Migration20261206064154 },
  { name: 'Migration20261206065731', class: Migration20261206065731 },
  { name: 'Migration20261206094200', class: Migration20261206094200 },
  { name: 'Migration20261206115546', class: Migration20261206115546 },
  { name: 'Migration20261206121548', class: Migration20261206121548 },
  { name: 'Migration20261206150749', class: Migration20261206150749 },
  { name: 'Migration20261206151159', class: Migration20261206151159 },
  { name: 'Migration20261206151303', class: Migration20261206151303 },
  { name: 'Migration20261206161347', class: Migration20261206161347 },
  { name: 'Migration20261206180950', class: Migration20261206180950 },
];
