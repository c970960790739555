/**
 * `npm run bench [-- --orders 400 --concurrency 20]`: measures the order path on this
 * machine, self-contained (its own Temporal dev server from the cached CLI, its own
 * database and subject prefix, removed afterwards):
 *  - placement: POST-equivalent latency (Update-with-Start until validated + locked +
 *    acknowledged by the venue), p50/p95/p99, and throughput at a given concurrency;
 *  - fills: one tick filling every resting order, time until all are FILLED;
 *  - events: outbox -> JetStream relay lag for everything the run produced;
 *  - memory: resident set size of the process (worker + client + relay in one).
 * Prints one JSON object. Figures depend on the machine; compare runs on the same one.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { OrderClient } from '../clients/order-client';
import { loadConfig } from '../config';
import { OutboxRelay } from '../events/relay';
import { connectMessaging, Topology } from '../messaging/nats';
import { createAccount, deposit } from '../activities/accounts';
import { countOrders } from '../persistence/orders/repository';
import { connectDatabase, dropDatabase } from '../persistence/orm';
import { publishLag, unpublishedCount } from '../persistence/outbox/repository';
import { createLogger } from '../runtime/logger';
import { FillDispatcher } from '../workers/venue/fill-dispatcher';
import { initSimulatedVenueOrm, migrateSimulatedVenue } from '../venue/simulated/database';
import { SimulatedVenue } from '../venue/simulated/venue';
import { createOrderWorker } from '../workers/order/worker';
import { ORDER_SEARCH_ATTRIBUTE_KEYS } from '../workflows/order/definitions';
import { setupMessaging } from './setup-messaging';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  const orders = arg('orders', 400);
  const concurrency = arg('concurrency', 20);
  const base = loadConfig();
  const runId = `bench${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const dbUrl = new URL(base.DATABASE_URL);
  dbUrl.pathname = `/oms_${runId}`;
  const databaseUrl = dbUrl.toString();
  const logger = createLogger('bench', 'warn');

  const cli = execFileSync('bash', [join(__dirname, '..', '..', 'scripts', 'ensure-temporal-cli.sh')], { encoding: 'utf8' }).trim().split('\n').pop() as string;
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: cli }, ip: '127.0.0.1', searchAttributes: ORDER_SEARCH_ATTRIBUTE_KEYS, log: { format: 'pretty', level: 'error' } },
  });
  const orm = await connectDatabase(databaseUrl);
  await migrateSimulatedVenue(databaseUrl);
  const venueOrm = await initSimulatedVenueOrm(databaseUrl);
  const config = { ...base, DATABASE_URL: databaseUrl, EVENTS_PREFIX: runId, TEMPORAL_ADDRESS: env.address };
  await setupMessaging(config);
  const messaging = await connectMessaging(config.NATS_URL, 'bench');
  const nativeConnection = await NativeConnection.connect({ address: env.address });
  const client = new Client({ connection: await Connection.connect({ address: env.address }) });
  const venue = new SimulatedVenue({ orm, venueOrm });
  const taskQueue = 'bench';
  const worker = await createOrderWorker({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue,
    activities: { orm, venue, marketData: venue, tradingDayCloseUtc: '21:00', marketOrderCollar: '0.05' },
  });
  const running = worker.run();
  const relay = new OutboxRelay(orm, messaging.js, new Topology(runId), logger, { databaseUrl });
  await relay.start();
  const commands = new OrderClient(client, taskQueue, 60_000, () => orm.em.fork());
  const dispatcher = new FillDispatcher({ orm, venueOrm }, commands, logger, { intervalMs: 200, concurrency: 16 });

  try {
    const ctx = { correlationId: 'bench', causationId: null };
    const { id: account } = await createAccount(orm.em.fork(), 'bench', ctx);
    await deposit(orm.em.fork(), { accountId: account, asset: 'USD', amount: '100000000', reference: 'bench' }, ctx);
    const rssBefore = process.memoryUsage().rss;

    // Warm-up (workflow cache, connections), not measured.
    for (let i = 0; i < 10; i++) {
      await commands.place({ clientOrderId: `warm-${i}`, accountId: account, symbol: 'BTC-USD', side: 'BUY', type: 'LIMIT', quantity: '0.001', limitPrice: '1', timeInForce: 'GTC', expireAt: null }, null);
    }

    const latencies: number[] = [];
    const ids: string[] = [];
    let next = 0;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < orders) {
          const i = next++;
          const t0 = performance.now();
          const { order } = await commands.place(
            { clientOrderId: `b-${i}-${randomUUID().slice(0, 8)}`, accountId: account, symbol: 'BTC-USD', side: 'BUY', type: 'LIMIT', quantity: '0.01', limitPrice: '100', timeInForce: 'GTC', expireAt: null },
            null,
          );
          latencies.push(performance.now() - t0);
          if (order.status !== 'ACCEPTED') throw new Error(`order ${i} is ${order.status}: ${order.rejectReason}`);
          ids.push(order.orderId);
        }
      }),
    );
    const placeSeconds = (Date.now() - started) / 1000;
    latencies.sort((a, b) => a - b);

    // One tick fills every resting order; time until the read model shows them all FILLED.
    const t1 = Date.now();
    await venue.recordTick({ symbol: 'BTC-USD', price: '99', liquidity: null });
    await dispatcher.start();
    for (;;) {
      if ((await countOrders(orm.em.fork(), { accountId: account, status: ['FILLED'] })) >= orders) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const fillSeconds = (Date.now() - t1) / 1000;

    // Relay: everything in the outbox published.
    for (;;) {
      if ((await unpublishedCount(orm.em.fork())) === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const lag = await publishLag(orm.em.fork());

    process.stdout.write(
      `${JSON.stringify(
        {
          machine: { cpus: cpus().length, node: process.version },
          orders,
          concurrency,
          placement: {
            ordersPerSecond: Number((orders / placeSeconds).toFixed(1)),
            latencyMs: { p50: Math.round(percentile(latencies, 50)), p95: Math.round(percentile(latencies, 95)), p99: Math.round(percentile(latencies, 99)), max: Math.round(latencies[latencies.length - 1]) },
          },
          fills: { orders, seconds: fillSeconds, fillsPerSecond: Number((orders / fillSeconds).toFixed(1)) },
          relay: { events: lag.events, lagMs: { p50: Math.round(lag.p50), p95: Math.round(lag.p95) } },
          memoryMb: { rssBefore: Math.round(rssBefore / 2 ** 20), rssAfter: Math.round(process.memoryUsage().rss / 2 ** 20) },
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    await dispatcher.stop();
    await relay.stop();
    worker.shutdown();
    await running;
    await nativeConnection.close();
    await client.connection.close();
    await messaging.nc.close();
    await orm.close();
    await venueOrm.close();
    await env.teardown();
    await dropDatabase(databaseUrl);
    const { nc, jsm } = await connectMessaging(config.NATS_URL, 'bench-cleanup');
    for await (const name of jsm.streams.names()) if (name.startsWith(`${runId}_`)) await jsm.streams.delete(name);
    await nc.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
