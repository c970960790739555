/**
 * `npm run migrate`: creates the database if needed and applies pending migrations:
 * the core's, then the simulated venue's (its own schema history) when it is the
 * configured venue.
 */
import { loadConfig } from '../config';
import { connectDatabase } from '../persistence/orm';
import { createLogger } from '../runtime/logger';
import { runMain } from '../runtime/lifecycle';
import { migrateSimulatedVenue } from '../venue/simulated/database';

const config = loadConfig();
const logger = createLogger('migrate', config.LOG_LEVEL);

runMain(logger, async () => {
  const orm = await connectDatabase(config.DATABASE_URL);
  const executed = await orm.getMigrator().getExecutedMigrations();
  await orm.close();
  const venue = config.VENUE === 'simulated' ? await migrateSimulatedVenue(config.DATABASE_URL) : [];
  logger.info(
    { database: new URL(config.DATABASE_URL).pathname.slice(1), migrations: executed.map((m) => m.name), venueMigrationsApplied: venue },
    'database is migrated',
  );
});
