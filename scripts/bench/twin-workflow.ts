/**
 * The benchmark's bare-Temporal twin of the order workflow: the same shape with no
 * work in it. Started with Update-with-Start; the placing update answers after
 * `steps` no-op activities (the order's record, validate, lock, submit and
 * record-accepted steps); then each `fill` update is queued, applied by the main loop
 * with one no-op activity (the order's settlement) and answered, and the workflow
 * completes, as an order does once filled. What the order path costs beyond this is
 * the order service's own work (HTTP, PostgreSQL, the venue, events).
 *
 * Workflow code: bundled on its own (bundleWorkflowCode) and run by the benchmark's
 * worker; deterministic, imports only the workflow SDK.
 */
import { allHandlersFinished, condition, defineUpdate, proxyActivities, proxyLocalActivities, setHandler } from '@temporalio/workflow';

export interface TwinInput {
  /** No-op activities before the placing update answers. */
  steps: number;
  /** Local activities (in the workflow task's worker) or regular ones (through the server). */
  local: boolean;
}

export interface TwinActivities {
  step(n: number): Promise<void>;
}

export const twinPlaceUpdate = defineUpdate<string>('placeOrder');
export const twinFillUpdate = defineUpdate<string, [string]>('applyFill');

// Same timeouts and retry shape as the order workflow's activities.
const options = { startToCloseTimeout: '20s', retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s' } } as const;
const local = proxyLocalActivities<TwinActivities>(options);
const regular = proxyActivities<TwinActivities>(options);

export async function twinOrderWorkflow(input: TwinInput): Promise<number> {
  const acts = input.local ? local : regular;
  let decided = false;
  const queue: string[] = [];
  const applied = new Set<string>();

  setHandler(twinPlaceUpdate, async () => {
    await condition(() => decided);
    return 'ACCEPTED';
  });
  setHandler(twinFillUpdate, async (tradeId) => {
    if (!applied.has(tradeId) && !queue.includes(tradeId)) queue.push(tradeId);
    await condition(() => applied.has(tradeId));
    return 'APPLIED';
  });

  for (let i = 0; i < input.steps; i++) await acts.step(i);
  decided = true;

  // One fill completes the twin order, settled by one activity.
  await condition(() => queue.length > 0);
  const tradeId = queue.shift() as string;
  await acts.step(input.steps);
  applied.add(tradeId);

  await condition(allHandlersFinished);
  return applied.size;
}
