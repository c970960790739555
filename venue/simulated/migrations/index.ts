/**
 * The simulated venue's migrations, in order: its own schema history, recorded in
 * `venue_migrations` (the core's is `mikro_orm_migrations`). Listed explicitly (not
 * globbed) so the same list runs from TypeScript sources in tests and from compiled
 * JavaScript in production. Add new migrations at the end; never edit one that has
 * shipped.
 */
import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261130000001_venue_book } from './Migration20261130000001_venue_book';
import { Migration20261130000002_venue_rules } from './Migration20261130000002_venue_rules';
import { Migration20261130000003_closed_order_ids } from './Migration20261130000003_closed_order_ids';

export const venueMigrations: MigrationObject[] = [
  { name: 'Migration20261130000001_venue_book', class: Migration20261130000001_venue_book },
  { name: 'Migration20261130000002_venue_rules', class: Migration20261130000002_venue_rules },
  { name: 'Migration20261130000003_closed_order_ids', class: Migration20261130000003_closed_order_ids },
];
