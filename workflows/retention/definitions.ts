/**
 * The retention job's contract: what the scheduled workflow is given, the one activity
 * it calls, its ids. Workflow-safe (types and constants only).
 */
import type { RetentionAges, RetentionTarget } from '../../domain/retention';

/** The Temporal Schedule that starts the job, and the id of the runs it starts. */
export const RETENTION_SCHEDULE_ID = 'retention';
export const RETENTION_WORKFLOW_ID = 'retention';

/** The maintenance worker's task queue, next to the orders' one. */
export function maintenanceTaskQueue(ordersTaskQueue: string): string {
  return `${ordersTaskQueue}-maintenance`;
}

export interface RetentionInput {
  /** Effective ages (ms), already raised to what idempotency needs (domain/retention.ts). */
  ages: RetentionAges;
  /** Rows per activity call (one short transaction each). */
  batchSize: number;
}

export interface PruneRequest {
  target: RetentionTarget;
  olderThanMs: number;
  limit: number;
}

export interface PruneResult {
  deleted: number;
  /** A full batch: there may be more. */
  more: boolean;
}

export interface RetentionResult {
  deleted: Record<RetentionTarget, number>;
}

export interface RetentionActivities {
  prune(request: PruneRequest): Promise<PruneResult>;
}
