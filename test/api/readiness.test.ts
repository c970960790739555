/**
 * GET /healthz says the process lives; GET /readyz whether orders can flow, naming
 * each part: a Temporal worker polling the order task queue (DescribeTaskQueue),
 * PostgreSQL, JetStream, the relay's lag and each subscriber's consumers.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { readinessChecks } from '../../api/readiness';
import { portfolioSubscriber } from '../../subscribers/portfolio';
import { Topology } from '../../messaging/nats';
import { forgetBreakerStates, reportBreakerStates } from '../../persistence/breakers/repository';
import { startApi, type Api } from '../support/api';
import { startHarness, type Harness } from '../support/harness';
import { eventually, startPipeline, type Pipeline } from '../support/pipeline';

let h: Harness;
let p: Pipeline;
const apis: Api[] = [];

beforeAll(async () => {
  h = await startHarness();
  p = await startPipeline(h);
});
afterAll(async () => {
  for (const a of apis) await a.close();
  await p?.close();
  await h?.close();
});

async function api(over: { taskQueue?: string; prefix?: string; consumerLag?: number } = {}): Promise<Api> {
  const a = await startApi(
    h,
    readinessChecks({
      config: { ...h.config, TEMPORAL_TASK_QUEUE: over.taskQueue ?? h.taskQueue, READY_MAX_CONSUMER_LAG: over.consumerLag ?? 1_000_000 },
      temporal: h.client,
      orm: h.orm,
      messaging: p.messaging,
      topology: new Topology(over.prefix ?? h.config.EVENTS_PREFIX),
    }),
  );
  apis.push(a);
  return a;
}

describe('health', () => {
  it('/healthz: 200 while the process serves, whatever its dependencies', async () => {
    const a = await api({ taskQueue: `nobody-${randomUUID()}` });
    const res = await a.request('GET', '/healthz', { key: null });
    expect(res).toMatchObject({ status: 200, body: { status: 'ok', uptimeSeconds: expect.any(Number) } });
  });

  it('/readyz: 200 naming every part when a worker polls the order task queue and everything answers', async () => {
    const a = await api();
    const res = await eventually(
      () => a.request('GET', '/readyz', { key: null }),
      (r) => r.status === 200,
    );
    expect(res.body.status).toBe('ready');
    expect(Object.keys(res.body.checks).sort()).toEqual(['breakers', 'jetstream', 'postgres', 'relay', 'subscriber:notification', 'subscriber:portfolio', 'subscriber:report', 'temporal']);
    expect(res.body.checks.temporal).toMatchObject({ status: 'up', taskQueue: h.taskQueue, workers: expect.any(Number) });
    expect(res.body.checks.temporal.workers).toBeGreaterThanOrEqual(1);
    expect(res.body.checks.relay).toMatchObject({ status: 'up', oldestUnpublishedMs: expect.any(Number) });
    expect(res.body.checks['subscriber:portfolio']).toMatchObject({ status: 'up', lag: expect.any(Object) });
    // One lag figure per stream the portfolio consumes.
    expect(Object.keys(res.body.checks['subscriber:portfolio'].lag)).toHaveLength(portfolioSubscriber.subscriptions.length);
  });

  it('/readyz: 503 when no worker polls the order task queue (orders would answer 202 forever)', async () => {
    const queue = `nobody-${randomUUID()}`;
    const a = await api({ taskQueue: queue });
    const res = await a.request('GET', '/readyz', { key: null });
    expect(res.status).toBe(503);
    expect(res.body.status).toBe('not ready');
    expect(res.body.checks.temporal).toMatchObject({ status: 'down', error: `no worker polls the task queue ${queue}` });
    expect(res.body.checks.postgres.status).toBe('up');
    expect(res.body.checks.jetstream.status).toBe('up');
  });

  it("/readyz: 503 naming each subscriber whose consumers are missing or too far behind", async () => {
    const missing = await api({ prefix: `nothere${randomUUID().slice(0, 8)}` });
    const res = await missing.request('GET', '/readyz', { key: null });
    expect(res.status).toBe(503);
    for (const name of ['portfolio', 'notification', 'report']) {
      expect(res.body.checks[`subscriber:${name}`]).toMatchObject({ status: 'down', error: expect.stringMatching(new RegExp(`consumer ${name}-\\w+ does not exist`)) });
    }
    expect(res.body.checks.temporal.status).toBe('up');

    // Nothing of this file consumes the streams: with no lag allowed, what waits is too much.
    const strict = await api({ consumerLag: -1 });
    const behind = await strict.request('GET', '/readyz', { key: null });
    expect(behind.status).toBe(503);
    expect(behind.body.checks['subscriber:report']).toMatchObject({ status: 'down', error: expect.stringMatching(/events waiting \(limit -1\)/) });
  });

  it('/readyz: 503 while a worker reports the venue breaker open; open webhook breakers are listed, not failing', async () => {
    const a = await api();
    const instance = `test/${randomUUID()}`;
    const since = new Date().toISOString();
    try {
      await reportBreakerStates(h.orm.em.fork(), {
        instance,
        process: 'notification',
        breakers: [{ name: 'webhook:w-1', state: 'open', since }],
      });
      const listed = await eventually(() => a.request('GET', '/readyz', { key: null }), (r) => r.status === 200);
      expect(listed.body.checks.breakers).toMatchObject({ status: 'up', breakers: expect.arrayContaining([{ process: 'notification', instance, name: 'webhook:w-1', state: 'open', since }]) });

      await reportBreakerStates(h.orm.em.fork(), { instance, process: 'worker', breakers: [{ name: 'venue', state: 'open', since }] });
      const res = await a.request('GET', '/readyz', { key: null });
      expect(res.status).toBe(503);
      expect(res.body.checks.breakers).toMatchObject({ status: 'down', error: expect.stringContaining(`the venue's circuit breaker is open in worker ${instance}`) });
    } finally {
      await forgetBreakerStates(h.orm.em.fork(), instance);
    }
    expect((await a.request('GET', '/readyz', { key: null })).body.checks.breakers.status).toBe('up');
  });
});
