/**
 * A deliberately non-deterministic variant of the order workflow, for the replay
 * test's negative control: it runs the same steps in a different order, as a careless
 * edit would, and replaying a recorded history against it must fail.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { OrderActivities } from '../../workflows/order/definitions';
import type { OrderWorkflowInput } from '../../workflows/order/definitions';

const acts = proxyActivities<OrderActivities>({ startToCloseTimeout: '20s' });

export async function orderWorkflow(input: OrderWorkflowInput): Promise<void> {
  await acts.validateOrder({ orderId: input.orderId, request: input.request });
}
