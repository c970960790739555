/**
 * Runs the bare-Temporal twin (twin-workflow.ts) on the same Temporal server as the
 * order path: a worker inside the benchmark process on a task queue of its own, and
 * a client that places twin orders exactly as the API places orders (Update-with-Start,
 * answered once the update completed) under the same load, then sends one fill update
 * per twin order at the fill dispatcher's concurrency, as the venue does after a tick.
 */
import { randomBytes } from 'node:crypto';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker } from '@temporalio/worker';
import { withTimeout } from '../../runtime/timing';
import { drive, forEachLimited, withRetries, type Load, type LoadResult } from './load';
import type { Progress } from './progress';
import { twinFillUpdate, twinOrderWorkflow, twinPlaceUpdate, type TwinActivities } from './twin-workflow';

export interface TwinOptions {
  temporalAddress: string;
  namespace: string;
  count: number;
  load: Load;
  /** No-op activities before the placing answer. */
  steps: number;
  local: boolean;
  fillConcurrency: number;
  warmup: number;
  progress: Progress;
  signal?: AbortSignal;
}

export interface TwinResult {
  taskQueue: string;
  placement: LoadResult;
  fills: LoadResult;
}

const activities: TwinActivities = {
  async step() {
    // Nothing: the twin measures Temporal's share of an order's cost only.
  },
};

export async function runTwin(o: TwinOptions): Promise<TwinResult> {
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const taskQueue = `bench-twin-${runId}`;
  o.progress.log('[bench] twin: bundling its workflow and starting its worker');
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('./twin-workflow'), logger: new DefaultLogger('WARN') });
  const nativeConnection = await NativeConnection.connect({ address: o.temporalAddress });
  const connection = await Connection.connect({ address: o.temporalAddress });
  const client = new Client({ connection, namespace: o.namespace });
  try {
    const worker = await Worker.create({ connection: nativeConnection, namespace: o.namespace, taskQueue, workflowBundle: { code }, activities });
    const workflowId = (phase: string, i: number): string => `bench-twin-${runId}-${phase}-${i}`;

    // As OrderClient.place: Update-with-Start, accepted first, then its result (retried as the bench retries POST /orders).
    const placed = new Set<string>();
    const place = (id: string): Promise<void> => withRetries(() => placeOnce(id)).then(() => void placed.add(id));
    const placeOnce = async (id: string): Promise<void> => {
      const startWorkflowOperation = new WithStartWorkflowOperation(twinOrderWorkflow, {
        workflowId: id,
        taskQueue,
        args: [{ steps: o.steps, local: o.local }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
      const update = await client.workflow.startUpdateWithStart(twinPlaceUpdate, { startWorkflowOperation, waitForStage: 'ACCEPTED' });
      const answer = await update.result();
      if (answer !== 'ACCEPTED') throw new Error(`twin ${id} answered ${answer}`);
    };
    // As OrderClient.applyFill: an update with an id derived from the trade.
    const fill = async (id: string): Promise<void> => {
      const answer = await client.workflow.getHandle(id).executeUpdate(twinFillUpdate, { args: [`trade-${id}`], updateId: `fill-trade-${id}` });
      if (answer !== 'APPLIED') throw new Error(`twin ${id} fill answered ${answer}`);
    };

    return await worker.runUntil(async () => {
      // Warm-up (bundle loaded, connections, caches), not measured.
      const warm = Array.from({ length: o.warmup }, (_, i) => workflowId('warm', i));
      await forEachLimited(warm, 4, place);
      await forEachLimited(warm, 4, fill);

      const ids = Array.from({ length: o.count }, (_, i) => workflowId('run', i));
      const placement = await drive(o.count, o.load, (i) => place(ids[i]), o.progress, 'twin placement', o.signal);
      if (o.signal?.aborted) throw new Error('interrupted');
      // Fills go to the twin orders that were placed, as the venue only fills orders it has.
      const resting = ids.filter((id) => placed.has(id));
      const fills = await drive(resting.length, { kind: 'closed', concurrency: o.fillConcurrency }, (i) => fill(resting[i]), o.progress, 'twin fill updates', o.signal);
      // Every twin order completes before the worker stops, so none is left open on a shared server;
      // one whose placement or fill failed is terminated.
      await forEachLimited([...warm, ...ids], 16, async (id) => {
        const handle = client.workflow.getHandle(id);
        const done = placed.has(id) ? await withTimeout(handle.result().then(() => true, () => false), 10_000) : false;
        if (done !== true) await handle.terminate('benchmark finished').catch(() => undefined);
      });
      return { taskQueue, placement, fills };
    });
  } finally {
    await connection.close();
    await nativeConnection.close();
  }
}
