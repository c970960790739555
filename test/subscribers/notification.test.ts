/**
 * The notification subscriber on the real stack: events from real orders reach a
 * real HTTP receiver (node:http on 127.0.0.1) as signed webhooks, with retries and
 * backoff, filtered per webhook, exactly once in effect; the log channel; the API.
 *
 * The pipeline runs the subscriber's own definition built with small delivery
 * settings (base backoff 200 ms, 3 attempts), so its background delivery service is
 * the only one delivering this file's notifications and the retry timings are its own.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import type { EventEnvelope } from '../../events/catalogue';
import { createNotificationSubscriber, NOTIFIED_EVENT_TYPES } from '../../subscribers/notification';
import { startApi, type Api } from '../support/api';
import { fundedAccount, hasStatus, newInstrument, place, sleep, tick, waitForOrder } from '../support/fixtures';
import { startHarness, type Harness } from '../support/harness';
import { eventually, startPipeline, streamEvents, type Pipeline } from '../support/pipeline';

const BASE_BACKOFF_MS = 200;
const MAX_ATTEMPTS = 3;
const subscriber = createNotificationSubscriber({ delivery: { backoffBaseMs: BASE_BACKOFF_MS, maxAttempts: MAX_ATTEMPTS, timeoutMs: 2_000 } });

interface Hit {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** A webhook receiver: records every request; answers what the path's responder says (default 200). */
class Receiver {
  readonly hits: Hit[] = [];
  readonly responders = new Map<string, (n: number) => number>();
  base = '';
  private readonly server: Server = createServer((req, res) => {
    const at = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      this.hits.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at });
      res.writeHead(this.responders.get(path)?.(this.hitsOf(path).length) ?? 200).end();
    });
  });

  static async start(): Promise<Receiver> {
    const r = new Receiver();
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    r.base = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}`;
    return r;
  }

  /** A fresh path on this receiver (one per webhook). */
  endpoint(respond?: (n: number) => number): { url: string; path: string } {
    const path = `/hooks/${randomUUID()}`;
    if (respond) this.responders.set(path, respond);
    return { url: `${this.base}${path}`, path };
  }

  hitsOf(path: string): Hit[] {
    return this.hits.filter((h) => h.path === path);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let h: Harness;
let p: Pipeline;
let api: Api;
let rx: Receiver;

beforeAll(async () => {
  h = await startHarness();
  p = await startPipeline(h, { subscribers: [subscriber] });
  api = await startApi(h);
  rx = await Receiver.start();
});
afterAll(async () => {
  await rx?.close();
  await api?.close();
  await p?.close();
  await h?.close();
});

function validSignature(secret: string, hit: Hit): boolean {
  const ts = String(hit.headers['x-oms-timestamp']);
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${ts}.${hit.body}`).digest('hex')}`);
  const given = Buffer.from(String(hit.headers['x-oms-signature']));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function register(accountId: string, url: string, events?: string[]): Promise<{ id: string; secret: string; events: string[] }> {
  const res = await api.request('POST', `/accounts/${accountId}/webhooks`, { body: events === undefined ? { url } : { url, events } });
  expect(res.status).toBe(201);
  return res.body;
}

async function notificationsOf(accountId: string, query = ''): Promise<any[]> {
  const res = await api.request('GET', `/accounts/${accountId}/notifications${query}`);
  expect(res.status).toBe(200);
  return res.body.notifications;
}

/** A resting order, then cancelled. */
async function cancelledOrder(accountId: string, symbol: string) {
  const o = await place(h, accountId, { symbol, side: 'BUY', quantity: '1', limitPrice: '10' });
  await waitForOrder(h, o.orderId, hasStatus('ACCEPTED'));
  await h.orders.cancel(o.orderId, 'changed my mind', null);
  await waitForOrder(h, o.orderId, hasStatus('CANCELLED'));
  return o;
}

/** An order filled in one go: BUY 2 at limit 100, filled at 99. */
async function filledOrder(accountId: string, symbol: string) {
  const o = await place(h, accountId, { symbol, side: 'BUY', quantity: '2', limitPrice: '100' });
  await tick(h, symbol, '99');
  await waitForOrder(h, o.orderId, hasStatus('FILLED'));
  return o;
}

async function orderEvent(accountId: string, orderId: string, eventType: string): Promise<EventEnvelope> {
  const [action] = eventType.split('.').slice(1);
  const [stored] = await eventually(
    () => streamEvents(p, 'orders', `orders.${action}.${accountId}.${orderId}`),
    (e) => e.length >= 1,
  );
  return stored.event;
}

describe('notification subscriber', () => {
  it('sends fills, cancellations and rejections to a webhook, signed, and lists them DELIVERED with their log rows', async () => {
    const { symbol } = await newInstrument(h);
    const account = await fundedAccount(h, { USD: '1000' });
    const { url, path } = rx.endpoint();
    const hook = await register(account, url);
    expect(hook).toMatchObject({ url, events: [], active: true, secret: expect.stringMatching(/^whsec_/) });

    const listed = await api.request('GET', `/accounts/${account}/webhooks`);
    expect(listed.status).toBe(200);
    expect(listed.body.webhooks).toEqual([{ id: hook.id, url, events: [], active: true, createdAt: expect.any(String) }]);

    const filled = await filledOrder(account, symbol);
    const cancelled = await cancelledOrder(account, symbol);
    const rejected = await place(h, account, { symbol, side: 'BUY', quantity: '100', limitPrice: '100' });
    expect(rejected.status).toBe('REJECTED');

    const hits = await eventually(
      async () => rx.hitsOf(path),
      (x) => x.length >= 3,
    );
    await sleep(500); // nothing more arrives
    expect(rx.hitsOf(path)).toHaveLength(3);
    const bodies = hits.map((hit) => JSON.parse(hit.body));
    expect(bodies.map((b) => `${b.eventType} ${b.order.orderId}`).sort()).toEqual(
      [`order.filled ${filled.orderId}`, `order.cancelled ${cancelled.orderId}`, `order.rejected ${rejected.orderId}`].sort(),
    );
    for (const [i, hit] of hits.entries()) {
      expect(validSignature(hook.secret, hit)).toBe(true);
      expect(validSignature('whsec_not-the-secret', hit)).toBe(false);
      expect(hit.headers['content-type']).toBe('application/json');
      expect(hit.headers['x-oms-event-id']).toBe(bodies[i].eventId);
      expect(hit.headers['x-oms-event-type']).toBe(bodies[i].eventType);
      expect(Math.abs(Number(hit.headers['x-oms-timestamp']) - hit.at / 1000)).toBeLessThan(5);
      expect(bodies[i]).toMatchObject({ accountId: account, occurredAt: expect.any(String), title: expect.any(String) });
    }
    const byType = Object.fromEntries(bodies.map((b) => [b.eventType, b]));
    expect(byType['order.filled']).toMatchObject({
      title: `Order ${filled.clientOrderId} filled: BUY 2 ${symbol} at 99`,
      order: { status: 'FILLED', filledQuantity: '2', averageFillPrice: '99' },
      fill: { quantity: '2', price: '99' },
    });
    expect(byType['order.cancelled']).toMatchObject({ reason: 'changed my mind', order: { status: 'CANCELLED' } });
    expect(byType['order.cancelled'].title).toBe(`Order ${cancelled.clientOrderId} cancelled: changed my mind`);
    expect(byType['order.rejected'].reason).toMatch(/^INSUFFICIENT_FUNDS/);
    expect(byType['order.rejected'].title).toMatch(new RegExp(`^Order ${rejected.clientOrderId} rejected: INSUFFICIENT_FUNDS`));

    const notifications = await eventually(
      () => notificationsOf(account),
      (n) => n.length === 6 && n.every((x) => x.status === 'DELIVERED'),
    );
    expect(notifications.filter((n) => n.channel === 'log').map((n) => n.eventType).sort()).toEqual(['order.cancelled', 'order.filled', 'order.rejected']);
    for (const n of notifications.filter((x) => x.channel === 'webhook')) {
      expect(n).toMatchObject({ webhookId: hook.id, attempts: 1, lastResult: 'HTTP 2xx', nextAttemptAt: null, deliveredAt: expect.any(String) });
      expect(bodies.find((b) => b.eventId === n.eventId)?.title).toBe(n.title);
    }
    // Newest first.
    const ids = notifications.map((n) => BigInt(n.id));
    expect([...ids].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0))).toEqual(ids);
    expect(await notificationsOf(account, '?status=PENDING,FAILED')).toEqual([]);
    const page = await api.request('GET', `/accounts/${account}/notifications?limit=4`);
    expect(page.body.notifications).toHaveLength(4);
    expect(page.body.next).toBe(`/accounts/${account}/notifications?limit=4&before=${page.body.notifications[3].id}`);
    expect((await api.request('GET', page.body.next)).body.notifications.map((n: any) => n.id)).toEqual(notifications.slice(4).map((n) => n.id));
  });

  it('retries a failing receiver with growing backoff until it answers 2xx', async () => {
    const { symbol } = await newInstrument(h);
    const account = await fundedAccount(h, { USD: '1000' });
    const { url, path } = rx.endpoint((n) => (n <= 2 ? 500 : 200));
    const hook = await register(account, url, ['order.cancelled']);
    await cancelledOrder(account, symbol);

    const [n] = await eventually(
      async () => (await notificationsOf(account)).filter((x) => x.channel === 'webhook'),
      (x) => x.length === 1 && x[0].status === 'DELIVERED',
    );
    expect(n).toMatchObject({ webhookId: hook.id, eventType: 'order.cancelled', attempts: 3, lastResult: 'HTTP 2xx' });
    const hits = rx.hitsOf(path);
    expect(hits).toHaveLength(3);
    expect(new Set(hits.map((x) => x.headers['x-oms-event-id']))).toEqual(new Set([n.eventId]));
    expect(hits.map((x) => x.headers['x-oms-attempt'])).toEqual(['1', '2', '3']);
    for (const hit of hits) expect(validSignature(hook.secret, hit)).toBe(true);
    const [gap1, gap2] = [hits[1].at - hits[0].at, hits[2].at - hits[1].at];
    expect(gap1).toBeGreaterThanOrEqual(BASE_BACKOFF_MS * 0.75);
    expect(gap2).toBeGreaterThan(gap1);
    expect(gap2).toBeGreaterThanOrEqual(BASE_BACKOFF_MS * 2 * 0.75);
  });

  it('gives up after the maximum attempts: FAILED with the class of the last result', async () => {
    const { symbol } = await newInstrument(h);
    const account = await fundedAccount(h, { USD: '1000' });
    const failing = rx.endpoint(() => 500);
    const failingHook = await register(account, failing.url);
    // A receiver that is not there at all: a port nothing listens on.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const deadHook = await register(account, `http://127.0.0.1:${deadPort}/hook`);

    await cancelledOrder(account, symbol);
    const rows = await eventually(
      async () => (await notificationsOf(account)).filter((x) => x.channel === 'webhook'),
      (x) => x.length === 2 && x.every((r) => r.status === 'FAILED'),
    );
    const byHook = Object.fromEntries(rows.map((r) => [r.webhookId, r]));
    expect(byHook[failingHook.id]).toMatchObject({ attempts: MAX_ATTEMPTS, lastResult: 'HTTP 5xx', deliveredAt: null, nextAttemptAt: null });
    // The class only: a socket error would tell a caller what listens where.
    expect(byHook[deadHook.id]).toMatchObject({ attempts: MAX_ATTEMPTS, lastResult: 'network error', deliveredAt: null, nextAttemptAt: null });
    expect(JSON.stringify(byHook[deadHook.id])).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
    await sleep(BASE_BACKOFF_MS * 4);
    expect(rx.hitsOf(failing.path)).toHaveLength(MAX_ATTEMPTS);
    // The log channel is unaffected.
    expect((await notificationsOf(account, '?status=DELIVERED')).map((r) => r.channel)).toEqual(['log']);
  });

  it('sends a webhook only the event types it asked for', async () => {
    const { symbol } = await newInstrument(h);
    const account = await fundedAccount(h, { USD: '1000' });
    const onlyFills = rx.endpoint();
    const everything = rx.endpoint();
    const fillsHook = await register(account, onlyFills.url, ['order.filled']);
    expect(fillsHook.events).toEqual(['order.filled']);
    await register(account, everything.url, []);

    const cancelled = await cancelledOrder(account, symbol);
    const filled = await filledOrder(account, symbol);

    // The catch-all webhook got both: by then the filtered one had its chance at both.
    await eventually(
      async () => rx.hitsOf(everything.path).map((x) => x.headers['x-oms-event-type']),
      (types) => types.includes('order.cancelled') && types.includes('order.filled'),
    );
    await eventually(
      async () => rx.hitsOf(onlyFills.path).length,
      (n) => n >= 1,
    );
    await sleep(500);
    const got = rx.hitsOf(onlyFills.path).map((x) => JSON.parse(x.body));
    expect(got.map((b) => [b.eventType, b.order.orderId])).toEqual([['order.filled', filled.orderId]]);
    const rows = await notificationsOf(account);
    expect(rows.filter((r) => r.webhookId === fillsHook.id).map((r) => r.eventType)).toEqual(['order.filled']);
    expect(rows.some((r) => r.channel === 'log' && r.eventType === 'order.cancelled')).toBe(true);
    expect(cancelled.orderId).not.toBe(filled.orderId);
  });

  it('a redelivered event has one effect: duplicate, no second notification, nothing sent again', async () => {
    const { symbol } = await newInstrument(h);
    const account = await fundedAccount(h, { USD: '1000' });
    const { url, path } = rx.endpoint();
    await register(account, url);
    const o = await cancelledOrder(account, symbol);
    const env = await orderEvent(account, o.orderId, 'order.cancelled');

    const count = async () =>
      (await h.orm.em.fork().execute<{ n: string }[]>('select count(*) as n from notifications where event_id = ?', [env.eventId]))[0].n;
    await eventually(count, (n) => n === '2');
    await eventually(
      async () => rx.hitsOf(path).length,
      (n) => n === 1,
    );

    expect(await p.subscribers.get('notification')!.process(env, 'stream')).toBe('duplicate');
    expect(await p.subscribers.get('notification')!.process(env, 'redrive')).toBe('duplicate');
    expect(await count()).toBe('2');
    await sleep(1_000);
    expect(rx.hitsOf(path)).toHaveLength(1);
  });

  it('the log channel: one structured JSON line per notification; a replay (rebuild) records and logs nothing again', async () => {
    const { symbol } = await newInstrument(h);
    const account = await fundedAccount(h, { USD: '1000' });
    const o = await cancelledOrder(account, symbol);
    const env = await orderEvent(account, o.orderId, 'order.cancelled');
    const fresh: EventEnvelope = { ...env, eventId: randomUUID() };

    const lines: any[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    class Rollback extends Error {}
    const counts: number[] = [];
    await expect(
      h.orm.em.fork().transactional(async (em) => {
        for (let i = 0; i < 2; i++) {
          await subscriber.handle(em, fresh, logger);
          const rows = await em.execute<{ channel: string; status: string }[]>('select channel, status from notifications where event_id = ?', [fresh.eventId]);
          counts.push(rows.length);
          expect(rows).toEqual([{ channel: 'log', status: 'DELIVERED' }]);
        }
        throw new Rollback('leave nothing behind');
      }),
    ).rejects.toThrow(Rollback);
    expect(counts).toEqual([1, 1]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      msg: `Order ${o.clientOrderId} cancelled: changed my mind`,
      notification: { channel: 'log', eventId: fresh.eventId, eventType: 'order.cancelled', accountId: account, reason: 'changed my mind', order: { orderId: o.orderId } },
    });
  });

  it('API: authentication, access and validation', async () => {
    const a = (await api.request('POST', '/accounts', { body: { name: 'hooks-a' } })).body;
    const b = (await api.request('POST', '/accounts', { body: { name: 'hooks-b' } })).body;
    const { url } = rx.endpoint();
    const hooks = `/accounts/${a.id}/webhooks`;

    expect((await api.request('POST', hooks, { key: null, body: { url } })).status).toBe(401);
    expect((await api.request('POST', hooks, { key: 'oms_unknown', body: { url } })).status).toBe(401);
    expect((await api.request('POST', hooks, { key: b.apiKey, body: { url } })).status).toBe(403);
    expect((await api.request('GET', hooks, { key: b.apiKey })).status).toBe(403);
    expect((await api.request('GET', `/accounts/${a.id}/notifications`, { key: null })).status).toBe(401);
    expect((await api.request('GET', `/accounts/${a.id}/notifications`, { key: b.apiKey })).status).toBe(403);
    expect((await api.request('GET', `/accounts/${randomUUID()}/notifications`)).status).toBe(404);
    expect((await api.request('POST', `/accounts/${randomUUID()}/webhooks`, { body: { url } })).status).toBe(404);

    for (const bad of ['ftp://127.0.0.1/x', 'not a url', 'http://user:pw@127.0.0.1/x', `http://127.0.0.1/${'x'.repeat(2048)}`, 42]) {
      const res = await api.request('POST', hooks, { key: a.apiKey, body: { url: bad } });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(res.body.errors.map((e: any) => e.field)).toEqual(['url']);
    }
    for (const events of [['order.created'], ['order.filled', 'nope'], 'order.filled']) {
      const res = await api.request('POST', hooks, { key: a.apiKey, body: { url, events } });
      expect(res.status).toBe(400);
      expect(res.body.errors[0].field).toMatch(/^events/);
    }
    const bad = await api.request('POST', hooks, { key: a.apiKey, body: { url, events: ['order.created'] } });
    expect(bad.body.errors).toEqual([{ field: 'events[0]', message: expect.stringContaining('order.filled') }]);

    // The account's own key may manage its webhooks; the secret is shown once.
    const created = await api.request('POST', hooks, { key: a.apiKey, body: { url, events: [...NOTIFIED_EVENT_TYPES, 'order.filled'] } });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`${hooks}/${created.body.id}`);
    expect(created.body.events).toEqual([...NOTIFIED_EVENT_TYPES]);
    const list = await api.request('GET', hooks, { key: a.apiKey });
    expect(list.status).toBe(200);
    expect(list.body.webhooks).toHaveLength(1);
    expect(list.body.webhooks[0]).not.toHaveProperty('secret');
    expect((await api.request('DELETE', `${hooks}/${created.body.id}`, { key: b.apiKey })).status).toBe(403);
    expect((await api.request('DELETE', `/accounts/${b.id}/webhooks/${created.body.id}`, { key: b.apiKey })).status).toBe(404);
    expect((await api.request('DELETE', `${hooks}/${randomUUID()}`, { key: a.apiKey })).status).toBe(404);
    expect((await api.request('DELETE', `${hooks}/${created.body.id}`, { key: a.apiKey })).status).toBe(204);
    expect((await api.request('GET', hooks, { key: a.apiKey })).body.webhooks[0]).toMatchObject({ id: created.body.id, active: false });

    expect((await api.request('GET', `/accounts/${a.id}/notifications`, { key: a.apiKey })).body).toEqual({ notifications: [], next: null });
    const badQuery = await api.request('GET', `/accounts/${a.id}/notifications?status=SENT&limit=0`, { key: a.apiKey });
    expect(badQuery.status).toBe(400);
    expect(badQuery.body.errors.map((e: any) => e.field).sort()).toEqual(['limit', 'status']);
  });
});
