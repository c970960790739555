/**
 * The retention job, started by a Temporal Schedule (clients/retention-schedule.ts):
 * for each target, deletes what is older than its age in batches (one activity call,
 * one short transaction each) until a batch comes back short. Deterministic: the
 * clock and the database are the activity's.
 */
import { proxyActivities } from '@temporalio/workflow';
import { RETENTION_TARGETS } from '../../domain/retention';
import type { RetentionActivities, RetentionInput, RetentionResult } from './definitions';

/** At most this many batches per target and run; the next run continues. */
const MAX_BATCHES = 1_000;

const { prune } = proxyActivities<RetentionActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 10 },
});

export async function retentionWorkflow(input: RetentionInput): Promise<RetentionResult> {
  const deleted = { outbox: 0, processedEvents: 0, venueFills: 0, notifications: 0 };
  for (const target of RETENTION_TARGETS) {
    for (let batch = 0; batch < MAX_BATCHES; batch++) {
      const r = await prune({ target, olderThanMs: input.ages[target], limit: input.batchSize });
      deleted[target] += r.deleted;
      if (!r.more) break;
    }
  }
  return { deleted };
}
