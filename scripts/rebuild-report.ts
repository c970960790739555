/**
 * `npm run rebuild-report [-- --from-start]`: rebuilds the report subscriber's tables
 * from its latest snapshot and the orders and funds streams after it (or, with
 * --from-start or without a snapshot, from the streams' first messages; see
 * subscribers/report/rebuild.ts), prints `{"replayed": n, "snapshot": id}` and exits.
 * Running report subscribers may stay up meanwhile.
 */
import { loadConfig } from '../config';
import { connectMessaging, Topology } from '../messaging/nats';
import { assertMigrated, initOrm } from '../persistence/orm';
import { runMain } from '../runtime/lifecycle';
import { createLogger } from '../runtime/logger';
import { rebuildReport } from '../subscribers/report/rebuild';

const config = loadConfig();
const logger = createLogger('rebuild-report', config.LOG_LEVEL);

runMain(logger, async () => {
  const orm = await initOrm(config.DATABASE_URL);
  try {
    await assertMigrated(orm);
    const messaging = await connectMessaging(config.NATS_URL, 'order-service-rebuild-report');
    try {
      const fromStart = process.argv.includes('--from-start');
      const result = await rebuildReport({ orm, messaging, topology: new Topology(config.EVENTS_PREFIX), logger }, { fromStart });
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } finally {
      await messaging.nc.drain();
    }
  } finally {
    await orm.close();
  }
});
