/** GET /events: the account's events as Server-Sent Events, resumable with Last-Event-ID. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApi, type Api } from '../support/api';
import { fundedAccount, newInstrument, place } from '../support/fixtures';
import { startHarness, type Harness } from '../support/harness';
import { startPipeline, type Pipeline } from '../support/pipeline';

let h: Harness;
let p: Pipeline;
let api: Api;

beforeAll(async () => {
  h = await startHarness();
  p = await startPipeline(h);
  api = await startApi(h);
});
afterAll(async () => {
  await api?.close();
  await p?.close();
  await h?.close();
});

interface SseEvent {
  id: string;
  event: string;
  data: any;
}

/**
 * Opens the stream; `ready` resolves once the server answered (its consumers exist),
 * `events` once `count` events arrived (or the timeout).
 */
function open(path: string, count: number, opts: { key?: string; lastEventId?: string; timeoutMs?: number } = {}) {
  const controller = new AbortController();
  const headers: Record<string, string> = { authorization: `Bearer ${opts.key ?? 'test-operator-key-0123456789'}` };
  if (opts.lastEventId) headers['last-event-id'] = opts.lastEventId;
  const response = fetch(`${api.url}${path}`, { headers, signal: controller.signal });
  return { ready: response.then(() => undefined), events: read(response, count, controller, opts.timeoutMs) };
}

async function collect(path: string, count: number, opts: { key?: string; lastEventId?: string; timeoutMs?: number } = {}): Promise<SseEvent[]> {
  return open(path, count, opts).events;
}

async function read(response: Promise<Response>, count: number, controller: AbortController, timeoutMs = 15_000): Promise<SseEvent[]> {
  const res = await response;
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: SseEvent[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    while (events.length < count) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const fields = Object.fromEntries(
          block
            .split('\n')
            .filter((l) => l && !l.startsWith(':'))
            .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trimStart()]),
        );
        if (fields.data) events.push({ id: fields.id, event: fields.event, data: JSON.parse(fields.data) });
      }
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return events;
}

describe('GET /events', () => {
  it("streams the account's events live, filtered by type, and resumes after Last-Event-ID", async () => {
    const { symbol } = await newInstrument(h);
    const account = await fundedAccount(h, { USD: '1000' });
    const other = await fundedAccount(h, { USD: '1000' });

    // Everything of this account from the start of the streams.
    const first = await collect(`/events?accountId=${account}&from=start`, 2);
    expect(first.map((e) => e.event).sort()).toEqual(['account.created', 'funds.deposited']);
    expect(first.every((e) => e.data.aggregateId === account)).toBe(true);

    // Live: order events only; another account's order never shows.
    const live = open(`/events?accountId=${account}&types=order.created,order.accepted,order.cancelled`, 4);
    await live.ready;
    await place(h, other, { symbol, side: 'BUY', quantity: '1', limitPrice: '10' });
    const o = await place(h, account, { symbol, side: 'BUY', quantity: '1', limitPrice: '10' });
    await h.orders.cancel(o.orderId, null, null);
    const o2 = await place(h, account, { symbol, side: 'BUY', quantity: '1', limitPrice: '10' });
    const received = await live.events;
    expect(received.map((e) => [e.event, e.data.data.order.orderId])).toEqual([
      ['order.created', o.orderId],
      ['order.accepted', o.orderId],
      ['order.cancelled', o.orderId],
      ['order.created', o2.orderId],
    ]);

    // Resume after the third event: the fourth comes again, then what happened since.
    await h.orders.cancel(o2.orderId, null, null);
    const resumed = await collect(`/events?accountId=${account}&types=order.created,order.accepted,order.cancelled`, 3, { lastEventId: received[2].id });
    expect(resumed.map((e) => [e.event, e.data.data.order.orderId])).toEqual([
      ['order.created', o2.orderId],
      ['order.accepted', o2.orderId],
      ['order.cancelled', o2.orderId],
    ]);
  });

  it('needs the account key or the operator key', async () => {
    const a = await api.request('POST', '/accounts', { body: { name: 'sse' } });
    const b = await api.request('POST', '/accounts', { body: { name: 'sse-2' } });
    expect((await api.request('GET', `/events?accountId=${a.body.id}`, { key: null })).status).toBe(401);
    expect((await api.request('GET', `/events?accountId=${a.body.id}`, { key: b.body.apiKey })).status).toBe(403);
    expect((await api.request('GET', '/events?types=order.nope', { key: a.body.apiKey })).body.errors).toEqual([
      expect.objectContaining({ field: 'types' }),
    ]);
    const own = await collect('/events?from=start', 1, { key: a.body.apiKey });
    expect(own[0]).toMatchObject({ event: 'account.created', data: { aggregateId: a.body.id } });
  });
});
