/**
 * Workflow histories for the replay test. With RECORD_HISTORIES=1, scenarios save the
 * history of the order they ran to test/histories/<name>.json; those files are
 * committed, and test/replay.test.ts replays every one against the current workflow
 * code, so a change that breaks determinism fails CI.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { orderWorkflowId } from '../../workflows/order/definitions';
import type { Harness } from './harness';

export const HISTORIES_DIR = join(__dirname, '..', 'histories');

export async function recordHistory(h: Harness, orderId: string, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const handle = h.client.workflow.getHandle(orderWorkflowId(orderId));
  await handle.result();
  const history = await handle.fetchHistory();
  mkdirSync(HISTORIES_DIR, { recursive: true });
  writeFileSync(join(HISTORIES_DIR, `${name}.json`), historyToJSON(history));
}
