/**
 * Every core migration, in order. Listed explicitly (not globbed) so the same list
 * runs from TypeScript sources in tests and from compiled JavaScript in production.
 * Add new migrations at the end; never edit one that has shipped.
 *
 * The one exception so far: the simulated venue's tables moved out of the core into
 * the venue's own migrations (venue/simulated/migrations). 001 and 002 were edited to
 * drop their venue statements (each says why that is safe), and
 * Migration20261129000007_venue_fill_lease, which only added a venue column and never
 * shipped, was removed from this list. A database that recorded it keeps the record
 * harmlessly: MikroORM ignores recorded migrations it no longer knows.
 */
import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261124000001_core } from './Migration20261124000001_core';
import { Migration20261124000002_events } from './Migration20261124000002_events';
import { Migration20261124000003_portfolio } from './Migration20261124000003_portfolio';
import { Migration20261124000004_notifications } from './Migration20261124000004_notifications';
import { Migration20261124000005_reports } from './Migration20261124000005_reports';
import { Migration20261129000006_outbox_cursors } from './Migration20261129000006_outbox_cursors';
import { Migration20261129211500_account_keys } from './Migration20261129211500_account_keys';
import { Migration20261129213500_subscriber_held_events } from './Migration20261129213500_subscriber_held_events';
import { Migration20261129214500_breaker_states } from './Migration20261129214500_breaker_states';
import { Migration20261130000007_positions_from_every_movement } from './Migration20261130000007_positions_from_every_movement';
import { Migration20261130000008_retention } from './Migration20261130000008_retention';
import { Migration20261130000009_outbox_set_aside } from './Migration20261130000009_outbox_set_aside';

export const migrations: MigrationObject[] = [
  { name: 'Migration20261124000001_core', class: Migration20261124000001_core },
  { name: 'Migration20261124000002_events', class: Migration20261124000002_events },
  { name: 'Migration20261124000003_portfolio', class: Migration20261124000003_portfolio },
  { name: 'Migration20261124000004_notifications', class: Migration20261124000004_notifications },
  { name: 'Migration20261124000005_reports', class: Migration20261124000005_reports },
  { name: 'Migration20261129000006_outbox_cursors', class: Migration20261129000006_outbox_cursors },
  { name: 'Migration20261129211500_account_keys', class: Migration20261129211500_account_keys },
  { name: 'Migration20261129213500_subscriber_held_events', class: Migration20261129213500_subscriber_held_events },
  { name: 'Migration20261129214500_breaker_states', class: Migration20261129214500_breaker_states },
  { name: 'Migration20261130000007_positions_from_every_movement', class: Migration20261130000007_positions_from_every_movement },
  { name: 'Migration20261130000008_retention', class: Migration20261130000008_retention },
  { name: 'Migration20261130000009_outbox_set_aside', class: Migration20261130000009_outbox_set_aside },
];
