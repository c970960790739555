/** `npm run migrate`: creates the database if needed and applies pending migrations. */
import { loadConfig } from '../config';
import { connectDatabase } from '../persistence/orm';
import { createLogger } from '../runtime/logger';
import { runMain } from '../runtime/lifecycle';

const config = loadConfig();
const logger = createLogger('migrate', config.LOG_LEVEL);

runMain(logger, async () => {
  const orm = await connectDatabase(config.DATABASE_URL);
  const executed = await orm.getMigrator().getExecutedMigrations();
  logger.info({ database: new URL(config.DATABASE_URL).pathname.slice(1), migrations: executed.map((m) => m.name) }, 'database is migrated');
  await orm.close();
});
