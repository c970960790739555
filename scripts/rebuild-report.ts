/**
 * `npm run rebuild-report`: rebuilds the report subscriber's tables by replaying the
 * orders and trades streams from the start (see subscribers/report/rebuild.ts), prints
 * `{"replayed": n}` and exits. Running report subscribers may stay up meanwhile.
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
      const result = await rebuildReport({ orm, messaging, topology: new Topology(config.EVENTS_PREFIX), logger });
      process.stdout.write(`${JSON.stringify({ replayed: result.replayed })}\n`);
    } finally {
      await messaging.nc.drain();
    }
  } finally {
    await orm.close();
  }
});
