/**
 * Every migration, in order. Listed explicitly (not globbed) so the same list runs
 * from TypeScript sources in tests and from compiled JavaScript in production.
 * Add new migrations at the end; never edit one that has shipped.
 */
import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261124000001_core } from './Migration20261124000001_core';
import { Migration20261124000002_events } from './Migration20261124000002_events';
import { Migration20261124000003_portfolio } from './Migration20261124000003_portfolio';
import { Migration20261124000004_notifications } from './Migration20261124000004_notifications';
import { Migration20261124000005_reports } from './Migration20261124000005_reports';
import { Migration20261129000006_outbox_cursors } from './Migration20261129000006_outbox_cursors';
import { Migration20261129000007_venue_fill_lease } from './Migration20261129000007_venue_fill_lease';

export const migrations: MigrationObject[] = [
  { name: 'Migration20261124000001_core', class: Migration20261124000001_core },
  { name: 'Migration20261124000002_events', class: Migration20261124000002_events },
  { name: 'Migration20261124000003_portfolio', class: Migration20261124000003_portfolio },
  { name: 'Migration20261124000004_notifications', class: Migration20261124000004_notifications },
  { name: 'Migration20261124000005_reports', class: Migration20261124000005_reports },
  { name: 'Migration20261129000006_outbox_cursors', class: Migration20261129000006_outbox_cursors },
  { name: 'Migration20261129000007_venue_fill_lease', class: Migration20261129000007_venue_fill_lease },
];
