/**
 * The retention job's activity: deletes one batch of one target's old rows, through
 * the repository that owns the table. The core's targets (published outbox rows,
 * processed-event records) are built in; the simulated venue's fills and the
 * notification subscriber's delivered notifications are given by the process that
 * runs the worker (workers/maintenance), since their tables belong to them.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { RetentionTarget } from '../../domain/retention';
import type { Orm } from '../../persistence/orm';
import { prunePublishedOutbox } from '../../persistence/outbox/repository';
import { pruneProcessedEvents } from '../../persistence/subscriber-state/repository';
import type { Logger } from '../../runtime/logger';
import type { PruneRequest, PruneResult, RetentionActivities } from '../../workflows/retention/definitions';

/** Deletes up to `limit` rows older than `before`; returns how many, and whether a full batch went. */
export type Pruner = (before: Date, limit: number) => Promise<PruneResult>;

export interface RetentionActivityDeps {
  orm: Orm;
  logger: Logger;
  /** Targets whose tables are not the core's (venue fills, notifications). */
  pruners?: Partial<Record<RetentionTarget, Pruner>>;
}

/** A pruner over one of the core's repositories, in its own transaction. */
function corePruner(orm: Orm, prune: (em: EntityManager, before: Date, limit: number) => Promise<number>): Pruner {
  return async (before, limit) => {
    const deleted = await orm.em.fork().transactional((em) => prune(em, before, limit));
    return { deleted, more: deleted >= limit };
  };
}

export function createRetentionActivities(deps: RetentionActivityDeps): RetentionActivities {
  const pruners: Partial<Record<RetentionTarget, Pruner>> = {
    outbox: corePruner(deps.orm, prunePublishedOutbox),
    processedEvents: corePruner(deps.orm, pruneProcessedEvents),
    ...deps.pruners,
  };
  return {
    async prune(req: PruneRequest): Promise<PruneResult> {
      const pruner = pruners[req.target];
      if (!pruner) return { deleted: 0, more: false };
      const before = new Date(Date.now() - req.olderThanMs);
      const result = await pruner(before, req.limit);
      if (result.deleted > 0) deps.logger.info({ target: req.target, deleted: result.deleted, before: before.toISOString() }, 'retention pruned');
      return result;
    },
  };
}
