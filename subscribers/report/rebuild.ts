/**
 * Rebuilds the report from its latest snapshot and the event streams after it (or
 * from the streams' start): empties its tables and its bookkeeping, puts the snapshot
 * back, and replays the orders and funds streams (Subscriber.rebuild).
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

export async function rebuildReport(deps: RebuildDeps, options: { fromStart?: boolean } = {}): Promise<{ replayed: number; snapshot: string | null }> {
  const subscriber = new Subscriber(reportSubscriber, deps.orm, deps.messaging, deps.topology, deps.logger);
  const started = Date.now();
  const result = await subscriber.rebuild(options);
  deps.logger.info({ subscriber: reportSubscriber.name, replayed: result.replayed, snapshot: result.snapshot, ms: Date.now() - started }, 'report rebuilt');
  return result;
}
