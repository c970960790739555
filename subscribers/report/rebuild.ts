/**
 * Rebuilds the report from the event streams: empties its tables and its bookkeeping
 * and replays the orders and trades streams from the start (Subscriber.rebuild).
 * Shared by `npm run rebuild-report` (scripts/rebuild-report.ts) and the tests, so
 * the tests exercise the command's own path. Live copies of the subscriber may keep
 * running meanwhile.
 */
import type { Messaging, Topology } from '../../messaging/nats';
import type { Orm } from '../../persistence/orm';
import type { Logger } from '../../runtime/logger';
import { Subscriber } from '../framework';
import { reportSubscriber } from './index';

export interface RebuildDeps {
  orm: Orm;
  messaging: Messaging;
  topology: Topology;
  logger: Logger;
}

export async function rebuildReport(deps: RebuildDeps): Promise<{ replayed: number }> {
  const subscriber = new Subscriber(reportSubscriber, deps.orm, deps.messaging, deps.topology, deps.logger);
  const started = Date.now();
  const result = await subscriber.rebuild();
  deps.logger.info({ subscriber: reportSubscriber.name, replayed: result.replayed, ms: Date.now() - started }, 'report rebuilt');
  return result;
}
