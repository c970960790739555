/**
 * The simulated venue's schema module: its entities and its own migrations, recorded
 * in `venue_migrations`, on the service's database. It has an ORM instance of its own
 * that maps only its tables, so the core's ORM and migrations know nothing of it.
 *
 * Whoever runs the core's migrations runs these after them when the simulated venue
 * is the configured venue (`npm run migrate`, `npm start`, the tests' global setup);
 * the processes that use the venue (API, worker, venue) open it with
 * openSimulatedVenueDatabase, which refuses to run on pending migrations.
 */
import { initOrm, migrate, openDatabase, type Orm, type SchemaModule } from '../../persistence/orm';
import type { Lifecycle } from '../../runtime/lifecycle';
import { venueEntities } from './entities';
import { venueMigrations } from './migrations';

/** The simulated venue's ORM (its entities only); `Orm` is the core's. */
export type VenueOrm = Orm;

export const SIMULATED_VENUE_SCHEMA: SchemaModule = {
  name: 'simulated venue',
  entities: venueEntities,
  migrations: venueMigrations,
  migrationsTable: 'venue_migrations',
};

/** Applies the venue's pending migrations to an existing database; returns their names. */
export async function migrateSimulatedVenue(databaseUrl: string): Promise<string[]> {
  const orm = await initSimulatedVenueOrm(databaseUrl);
  try {
    return await migrate(orm);
  } finally {
    await orm.close();
  }
}

export async function initSimulatedVenueOrm(databaseUrl: string): Promise<VenueOrm> {
  return initOrm(databaseUrl, {}, SIMULATED_VENUE_SCHEMA);
}

/** A process's venue ORM: connected, closed at shutdown, refusing to run on pending migrations. */
export async function openSimulatedVenueDatabase(databaseUrl: string, lifecycle: Lifecycle): Promise<VenueOrm> {
  return openDatabase(databaseUrl, lifecycle, SIMULATED_VENUE_SCHEMA);
}
