/**
 * `npm run retention [-- --now]`: the row counts and sizes of the tables the retention
 * job prunes; with --now, triggers its Temporal Schedule at once (the maintenance
 * process must be running: it owns the schedule and polls its task queue), waits for
 * that run and prints what it deleted and the tables after.
 */
import { Client, Connection } from '@temporalio/client';
import type { EntityManager } from '@mikro-orm/postgresql';
import { loadConfig } from '../config';
import { initOrm } from '../persistence/orm';
import { runMain } from '../runtime/lifecycle';
import { createLogger } from '../runtime/logger';
import { sleep } from '../runtime/timing';
import { RETENTION_SCHEDULE_ID } from '../workflows/retention/definitions';

const config = loadConfig();
const logger = createLogger('retention', config.LOG_LEVEL);

const TABLES = ['outbox', 'processed_events', 'venue_fills', 'venue_orders', 'notifications'] as const;

async function tableSizes(em: EntityManager): Promise<Record<string, { rows: number; bytes: number }>> {
  const sizes: Record<string, { rows: number; bytes: number }> = {};
  for (const table of TABLES) {
    const [row] = await em.execute<{ rows: string; bytes: string }[]>(`select count(*) as rows, pg_total_relation_size('${table}') as bytes from ${table}`);
    sizes[table] = { rows: Number(row.rows), bytes: Number(row.bytes) };
  }
  return sizes;
}

runMain(logger, async () => {
  const orm = await initOrm(config.DATABASE_URL);
  try {
    const before = await tableSizes(orm.em.fork());
    process.stdout.write(`${JSON.stringify({ tables: before })}\n`);
    if (!process.argv.includes('--now')) return;
    const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
    try {
      const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
      const schedule = client.schedule.getHandle(RETENTION_SCHEDULE_ID);
      const seen = (await schedule.describe()).info.recentActions.length;
      await schedule.trigger();
      // The triggered run shows among the schedule's recent actions once it started.
      let described = await schedule.describe();
      while (described.info.recentActions.length <= seen && described.info.runningActions.length === 0) {
        await sleep(250);
        described = await schedule.describe();
      }
      const started = described.info.runningActions[0] ?? described.info.recentActions[described.info.recentActions.length - 1].action;
      const result = await client.workflow.getHandle(started.workflow.workflowId, started.workflow.firstExecutionRunId).result();
      process.stdout.write(`${JSON.stringify({ run: result, tables: await tableSizes(orm.em.fork()) })}\n`);
    } finally {
      await connection.close();
    }
  } finally {
    await orm.close();
  }
});
