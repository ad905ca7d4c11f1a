/**
 * The sqlite migrations, in order. Listed in code (not discovered from disk) so they ship inside the built
 * package and run the same from src/ and dist/. New ones come from `scripts/create-migration.ts`.
 */
import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261123164002 } from './Migration20261123164002.ts';
import { Migration20261206064153 } from './Migration20261206064153.ts';
import { Migration20261206065731 } from './Migration20261206065731.ts';
import { Migration20261206094159 } from './Migration20261206094159.ts';
import { Migration20261206115545 } from './Migration20261206115545.ts';
import { Migration20261206121547 } from './Migration20261206121547.ts';
import { Migration20261206150748 } from './Migration20261206150748.ts';
import { Migration20261206151158 } from './Migration20261206151158.ts';
import { Migration20261206151302 } from './Migration20261206151302.ts';
import { Migration20261206161345 } from './Migration20261206161345.ts';
import { Migration20261206180950 } from './Migration20261206180950.ts';

export const sqliteMigrations: MigrationObject[] = [
  { name: 'Migration20261123164002', class: Migration20261123164002 },
  { name: 'Migration20261206064153', class: Migration20261206064153 },
  { name: 'Migration20261206065731', class: Migration20261206065731 },
  { name: 'Migration20261206094159', class: Migration20261206094159 },
  { name: 'Migration20261206115545', class: Migration20261206115545 },
  { name: 'Migration20261206121547', class: Migration20261206121547 },
  { name: 'Migration20261206150748', class: Migration20261206150748 },
  { name: 'Migration20261206151158', class: Migration20261206151158 },
  { name: 'Migration20261206151302', class: Migration20261206151302 },
  { name: 'Migration20261206161345', class: Migration20261206161345 },
  { name: 'Migration20261206180950', class: Migration20261206180950 },
];
