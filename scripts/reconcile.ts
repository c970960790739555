/**
 * `npm run reconcile [-- <accountId>]`: checks every ledger invariant of the
 * reference (persistence/reconciliation.ts) and exits non-zero on a violation.
 */
import { loadConfig } from '../config';
import { initOrm } from '../persistence/orm';
import { reconcile } from '../persistence/reconciliation';
import { runMain } from '../runtime/lifecycle';
import { createLogger } from '../runtime/logger';

const config = loadConfig();
const logger = createLogger('reconcile', config.LOG_LEVEL);

runMain(logger, async () => {
  const orm = await initOrm(config.DATABASE_URL);
  try {
    const violations = await reconcile(orm.em.fork(), process.argv[2] ?? null);
    for (const v of violations) process.stdout.write(`${JSON.stringify(v)}\n`);
    logger.info({ violations: violations.length }, violations.length ? 'ledger invariants VIOLATED' : 'ledger invariants hold');
    process.exitCode = violations.length ? 1 : 0;
  } finally {
    await orm.close();
  }
});
