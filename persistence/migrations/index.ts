/**
 * Every migration, in order. Listed explicitly (not globbed) so the same list runs
 * from TypeScript sources in tests and from compiled JavaScript in production.
 * Add new migrations at the end; never edit one that has shipped.
 */
import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261124000001_core } from './Migration20261124000001_core';

export const migrations: MigrationObject[] = [
  { name: 'Migration20261124000001_core', class: Migration20261124000001_core },
];
