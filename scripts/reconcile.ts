/**
 * `npm run reconcile [-- <accountId>]`: checks every ledger invariant
 * (persistence/reconciliation.ts) and, with the simulated venue, the venue's
 * executions against the orders' fills (venue/simulated/reconciliation.ts); exits
 * non-zero on a violation.
 */
import { loadConfig } from '../config';
import { initOrm } from '../persistence/orm';
import { reconcile } from '../persistence/reconciliation';
import { runMain } from '../runtime/lifecycle';
import { createLogger } from '../runtime/logger';
import { reconcileVenue } from '../venue/simulated/reconciliation';

const config = loadConfig();
const logger = createLogger('reconcile', config.LOG_LEVEL);

runMain(logger, async () => {
  const orm = await initOrm(config.DATABASE_URL);
  try {
    const accountId = process.argv[2] ?? null;
    const violations = await reconcile(orm.em.fork(), accountId);
    if (config.VENUE === 'simulated') violations.push(...(await reconcileVenue(orm.em.fork(), accountId)));
    for (const v of violations) process.stdout.write(`${JSON.stringify(v)}\n`);
    logger.info({ violations: violations.length }, violations.length ? 'reconciliation found violations' : 'ledger, orders and venue reconcile');
    process.exitCode = violations.length ? 1 : 0;
  } finally {
    await orm.close();
  }
});
