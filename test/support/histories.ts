/**
 * Workflow histories for the replay test, kept per release: test/histories/<release>/.
 * With RECORD_HISTORIES=1, scenarios save the history of the order they ran into the
 * folder of the release being made (RECORDING_RELEASE); a history already recorded is
 * never overwritten. Every history of every release is committed and replayed against
 * the current workflow code (test/replay.test.ts), so an unguarded change to what the
 * workflow does fails CI for the orders any release may still have running.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { orderWorkflowId } from '../../workflows/order/definitions';
import type { Harness } from './harness';

export const HISTORIES_DIR = join(__dirname, '..', 'histories');

/** The release whose histories a recording run adds (bump it when the workflow changes). */
export const RECORDING_RELEASE = '2026-11-29-submission-deadline';

/** Every recorded history file, as release/name.json. */
export function historyFiles(): string[] {
  return readdirSync(HISTORIES_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => readdirSync(join(HISTORIES_DIR, d.name)).filter((f) => f.endsWith('.json')).map((f) => `${d.name}/${f}`))
    .sort();
}

export async function recordHistory(h: Harness, orderId: string, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const dir = join(HISTORIES_DIR, RECORDING_RELEASE);
  const file = join(dir, `${name}.json`);
  if (existsSync(file)) throw new Error(`${RECORDING_RELEASE}/${name}.json is recorded already; histories are never overwritten`);
  const handle = h.client.workflow.getHandle(orderWorkflowId(orderId));
  await handle.result();
  const history = await handle.fetchHistory();
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, historyToJSON(history));
}
