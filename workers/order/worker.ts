/**
 * The Temporal worker for orders: the order workflow plus its activities, built
 * over injected dependencies (tests build one on their own task queue).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DefaultLogger, NativeConnection, Worker, type LogLevel, type WorkerOptions } from '@temporalio/worker';
import type { Logger } from '../../runtime/logger';
import { createOrderActivities, type OrderActivityDeps } from '../../activities/order/activities';

export interface OrderWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: OrderActivityDeps;
  /** A prebuilt workflow bundle (npm run build writes dist/workflow-bundle.js). */
  workflowBundlePath?: string;
  shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
  /** ORDER_WORKER_MAX_CACHED_WORKFLOWS (the SDK's default sizes the cache from the heap: thousands). */
  maxCachedWorkflows?: number;
}

/** The prebuilt bundle next to the compiled code, if there is one. */
export function defaultWorkflowBundlePath(): string | undefined {
  const candidate = join(__dirname, '..', '..', 'workflow-bundle.js');
  return existsSync(candidate) ? candidate : undefined;
}

export async function createOrderWorker(opts: OrderWorkerOptions): Promise<Worker> {
  const bundle = opts.workflowBundlePath ?? defaultWorkflowBundlePath();
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    ...(bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath: require.resolve('../../workflows') }),
    activities: createOrderActivities(opts.activities),
    shutdownGraceTime: opts.shutdownGraceTime ?? '30s',
    ...(opts.maxCachedWorkflows ? { maxCachedWorkflows: opts.maxCachedWorkflows } : {}),
  });
}

/** The Temporal SDK's own log lines, written through the process's logger (one log format). */
export function temporalLogger(logger: Logger, level: LogLevel): DefaultLogger {
  const sdk = logger.child({ component: 'temporal-sdk' });
  return new DefaultLogger(level, ({ level: l, message, meta }) => {
    const method = l === 'TRACE' ? 'trace' : l === 'DEBUG' ? 'debug' : l === 'INFO' ? 'info' : l === 'WARN' ? 'warn' : 'error';
    sdk[method](meta ?? {}, message);
  });
}
