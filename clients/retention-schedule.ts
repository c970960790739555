/**
 * The Temporal Schedule that runs the retention job: created when missing, brought up
 * to date (interval, input, task queue) when it exists; overlapping runs are skipped.
 * The Web UI lists it under Schedules, with its recent and upcoming runs.
 */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptionsAction, type ScheduleSpec } from '@temporalio/client';
import { RETENTION_SCHEDULE_ID, RETENTION_WORKFLOW_ID, type RetentionInput } from '../workflows/retention/definitions';

export interface RetentionScheduleOptions {
  taskQueue: string;
  intervalMs: number;
  input: RetentionInput;
  /** Another id (tests run side by side on one server). */
  scheduleId?: string;
}

export async function ensureRetentionSchedule(client: Client, opts: RetentionScheduleOptions): Promise<string> {
  const scheduleId = opts.scheduleId ?? RETENTION_SCHEDULE_ID;
  const spec: ScheduleSpec = { intervals: [{ every: opts.intervalMs }] };
  const action: ScheduleOptionsAction = {
    type: 'startWorkflow',
    workflowType: 'retentionWorkflow',
    workflowId: scheduleId === RETENTION_SCHEDULE_ID ? RETENTION_WORKFLOW_ID : `${scheduleId}-run`,
    taskQueue: opts.taskQueue,
    args: [opts.input],
    workflowExecutionTimeout: '1 hour',
  };
  try {
    await client.schedule.create({ scheduleId, spec, action, policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' } });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec, action }));
  }
  return scheduleId;
}
