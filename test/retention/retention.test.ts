/**
 * The retention job on the real stack: a Temporal Schedule runs the retention workflow
 * on its own worker, which deletes what is older than its ages and nothing that
 * idempotency still needs; and a projection rebuilt from its snapshot after the
 * pruning equals the live one.
 *
 * The database and streams are shared with the other test files of the run, so only
 * this file's "old" account is made old (its rows backdated), and the job runs with
 * the configured ages (days): nothing of anybody else is old enough to go.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { ensureRetentionSchedule } from '../../clients/retention-schedule';
import { reconcile } from '../../persistence/reconciliation';
import { createLogger } from '../../runtime/logger';
import { createNotificationSubscriber } from '../../subscribers/notification';
import { portfolioSubscriber } from '../../subscribers/portfolio';
import { reconcileVenue } from '../../venue/simulated/reconciliation';
import { createMaintenanceWorker, pluginPruners, retentionInput } from '../../workers/maintenance/worker';
import { startApi, type Api } from '../support/api';
import { hasStatus, newInstrument, place, tick, waitForOrder } from '../support/fixtures';
import { startHarness, type Harness } from '../support/harness';
import { eventually, startPipeline, type Pipeline } from '../support/pipeline';

let h: Harness;
let p: Pipeline;
let api: Api;
let hooks: Server;
let hookUrl = '';

beforeAll(async () => {
  h = await startHarness();
  p = await startPipeline(h, { subscribers: [portfolioSubscriber, createNotificationSubscriber({ delivery: { backoffBaseMs: 100, maxAttempts: 3, timeoutMs: 2_000 } })] });
  api = await startApi(h);
  hooks = createServer((_req, res) => res.writeHead(200).end('ok'));
  await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  await new Promise((resolve) => hooks?.close(resolve));
  await api?.close();
  await p?.close();
  await h?.close();
});

async function count(sql: string, params: unknown[]): Promise<number> {
  const [row] = await h.orm.em.fork().execute<{ n: string }[]>(`select count(*) as n from ${sql}`, params);
  return Number(row.n);
}

/** An account with a webhook, a deposit, a BUY filled at once and a BUY filled by a tick: every table the job prunes has rows of it. */
async function tradingAccount(symbol: string): Promise<{ id: string; ids: string[] }> {
  // (Generous waits: the whole suite shares two cores.)
  const id = (await api.request('POST', '/accounts', { body: { name: 'retention' } })).body.id as string;
  expect((await api.request('POST', `/accounts/${id}/webhooks`, { body: { url: hookUrl, events: ['order.filled'] } })).status).toBe(201);
  expect((await api.request('POST', `/accounts/${id}/deposits`, { body: { asset: 'USD', amount: '1000', reference: 'in' } })).status).toBe(201);
  const now = await place(h, id, { symbol, side: 'BUY', quantity: '1', limitPrice: '100' });
  const resting = await place(h, id, { symbol, side: 'BUY', quantity: '1', limitPrice: '99' });
  await tick(h, symbol, '99');
  await waitForOrder(h, resting.orderId, hasStatus('FILLED'));
  expect(now.status).toBe('FILLED');
  const ids = [id, now.orderId, resting.orderId];
  await eventually(
    async () => [
      await count("outbox where aggregate_id in (select jsonb_array_elements_text(?::jsonb)) and published_at is null", [JSON.stringify(ids)]),
      await count("notifications where account_id = ? and channel = 'webhook' and status = 'DELIVERED'", [id]),
      await count("portfolio_accounts where account_id = ?", [id]),
    ],
    ([unpublished, delivered, portfolio]) => unpublished === 0 && delivered === 2 && portfolio === 1,
    60_000,
  );
  return { id, ids };
}

describe('retention', () => {
  it('the Schedule runs the job; it prunes what is old, keeps what idempotency needs; a rebuild from the snapshot gives the same portfolio', async () => {
    const { symbol } = await newInstrument(h);
    await tick(h, symbol, '100');
    const old = await tradingAccount(symbol);
    const recent = await tradingAccount(symbol);

    // Make the old account old. Its portfolio's processed events: past the floor (stream
    // max age + ack wait + duplicate window, about 30 days); its notification
    // subscriber's: 20 days, older than the configured 1 day but under the floor.
    await h.orm.em.fork().execute("update outbox set published_at = now() - interval '10 days' where aggregate_id in (select jsonb_array_elements_text(?::jsonb))", [JSON.stringify(old.ids)]);
    // The old account's event ids, listed before the job deletes their outbox rows.
    const eventIdsOf = async (ids: string[]) =>
      JSON.stringify(
        (await h.orm.em.fork().execute<{ event_id: string }[]>('select event_id from outbox where aggregate_id in (select jsonb_array_elements_text(?::jsonb))', [JSON.stringify(ids)])).map((r) => r.event_id),
      );
    const oldEventIds = await eventIdsOf(old.ids);
    const recentEventIds = await eventIdsOf(recent.ids);
    const IN_IDS = '(select jsonb_array_elements_text(?::jsonb)::uuid)';
    await h.orm.em.fork().execute(`update processed_events set processed_at = now() - interval '40 days' where subscriber = 'portfolio' and event_id in ${IN_IDS}`, [oldEventIds]);
    await h.orm.em.fork().execute(`update processed_events set processed_at = now() - interval '20 days' where subscriber = 'notification' and event_id in ${IN_IDS}`, [oldEventIds]);
    await h.orm.em.fork().execute("update venue_orders set closed_at = now() - interval '10 days' where order_id::text in (select jsonb_array_elements_text(?::jsonb))", [JSON.stringify(old.ids.slice(1))]);
    await h.orm.em.fork().execute("update notifications set delivered_at = now() - interval '40 days' where account_id = ?", [old.id]);

    const before = {
      outbox: await count('outbox where aggregate_id in (select jsonb_array_elements_text(?::jsonb))', [JSON.stringify(recent.ids)]),
      // The portfolio's and the notification subscriber's (the report's are rebuilt by another test file meanwhile).
      processed: await count(`processed_events where subscriber in ('portfolio', 'notification') and event_id in ${IN_IDS}`, [recentEventIds]),
      venueFills: await count('venue_fills where order_id::text in (select jsonb_array_elements_text(?::jsonb))', [JSON.stringify(recent.ids.slice(1))]),
      notifications: await count('notifications where account_id = ?', [recent.id]),
      oldNotificationRecords: await count(`processed_events where subscriber = 'notification' and event_id in ${IN_IDS}`, [oldEventIds]),
    };
    expect(Object.values(before).every((n) => n > 0)).toBe(true);
    expect(await count('venue_fills where order_id::text in (select jsonb_array_elements_text(?::jsonb))', [JSON.stringify(old.ids.slice(1))])).toBe(2);

    // The portfolio's snapshot, then one more movement of the old account after it.
    const portfolio = p.subscribers.get('portfolio')!;
    const snapshot = await portfolio.takeSnapshot();
    expect((await api.request('POST', `/accounts/${old.id}/deposits`, { body: { asset: 'USD', amount: '5', reference: 'after-snapshot' } })).status).toBe(201);
    await eventually(
      () => api.request('GET', `/accounts/${old.id}/portfolio`),
      (r) => r.body.cash.find((c: { asset: string }) => c.asset === 'USD')?.total === '806', // 1000 - 100 - 99 + 5
      60_000,
    );

    // The maintenance worker and its Schedule (every second here; every RETENTION_INTERVAL_MINUTES in production).
    const connection = await NativeConnection.connect({ address: h.config.TEMPORAL_ADDRESS });
    const taskQueue = `maintenance-test-${randomUUID()}`;
    const worker: Worker = await createMaintenanceWorker({
      connection,
      namespace: h.config.TEMPORAL_NAMESPACE,
      taskQueue,
      orm: h.orm,
      logger: createLogger('retention-test', 'silent'),
      pruners: pluginPruners(h.orm, h.venueOrm),
      shutdownGraceTime: '5s',
    });
    const running = worker.run();
    const input = retentionInput({ ...h.config, RETENTION_PROCESSED_EVENTS_DAYS: 1 });
    expect(input.ages.processedEvents).toBeGreaterThan(30 * 24 * 3600 * 1000); // raised to the floor
    const scheduleId = await ensureRetentionSchedule(h.client, { taskQueue, intervalMs: 1_000, input, scheduleId: `retention-test-${randomUUID()}` });
    const schedule = h.client.schedule.getHandle(scheduleId);
    try {
      await eventually(
        async () => [
          await count('outbox where aggregate_id in (select jsonb_array_elements_text(?::jsonb))', [JSON.stringify(old.ids)]),
          await count('venue_fills where order_id::text in (select jsonb_array_elements_text(?::jsonb))', [JSON.stringify(old.ids.slice(1))]),
          await count('notifications where account_id = ?', [old.id]),
          await count(`processed_events where subscriber = 'portfolio' and event_id in ${IN_IDS}`, [oldEventIds]),
        ],
        // Left of the old account: the deposit after the snapshot (its outbox row, recent).
        ([outbox, fills, notifications, processed]) => outbox === 1 && fills === 0 && notifications === 0 && processed === 0,
        60_000,
      );
      const described = await schedule.describe();
      expect(described.info.recentActions.length).toBeGreaterThanOrEqual(1);
      const run = await h.client.workflow.getHandle(described.info.recentActions[0].action.workflow.workflowId).result();
      expect(run).toEqual({ deleted: expect.objectContaining({ outbox: expect.any(Number) }) });
    } finally {
      await schedule.delete();
      worker.shutdown();
      await running;
      await connection.close();
    }

    // Kept: everything of the recent account, the old notification records under the floor, the old venue orders' ledger.
    expect({
      outbox: await count('outbox where aggregate_id in (select jsonb_array_elements_text(?::jsonb))', [JSON.stringify(recent.ids)]),
      // The portfolio's and the notification subscriber's (the report's are rebuilt by another test file meanwhile).
      processed: await count(`processed_events where subscriber in ('portfolio', 'notification') and event_id in ${IN_IDS}`, [recentEventIds]),
      venueFills: await count('venue_fills where order_id::text in (select jsonb_array_elements_text(?::jsonb))', [JSON.stringify(recent.ids.slice(1))]),
      notifications: await count('notifications where account_id = ?', [recent.id]),
      oldNotificationRecords: await count(`processed_events where subscriber = 'notification' and event_id in ${IN_IDS}`, [oldEventIds]),
    }).toEqual(before);
    expect(await reconcile(h.orm.em.fork(), old.id)).toEqual([]);
    expect(await reconcileVenue(h.orm.em.fork(), old.id)).toEqual([]);

    // The rebuild starts from the snapshot and replays only what followed it.
    const live = await Promise.all([old.id, recent.id].map(async (a) => (await api.request('GET', `/accounts/${a}/portfolio`)).body));
    const rebuilt = await portfolio.rebuild();
    expect(rebuilt.snapshot).toBe(snapshot.id);
    expect(snapshot.streamSequences.funds).toBeGreaterThan(0);
    const funds = await p.messaging.jsm.streams.info(p.topology.stream('FUNDS'));
    // At least the deposit after the snapshot; never what the snapshot already holds.
    expect(rebuilt.replayed).toBeGreaterThanOrEqual(1);
    expect(rebuilt.replayed).toBeLessThanOrEqual(funds.state.last_seq - snapshot.streamSequences.funds);
    const after = await Promise.all([old.id, recent.id].map(async (a) => (await api.request('GET', `/accounts/${a}/portfolio`)).body));
    expect(after).toEqual(live);
    // Its own waits allow up to 60 s each, and the rebuild replays the run's shared FUNDS
    // stream since the snapshot (every other file's deposits and fills too): the Jest
    // default of 120 s was shorter than the test's own budget when the suite runs in parallel.
  }, 300_000);
});
