/**
 * The API under invalid input (property-based, fast-check): requests across every
 * route whose bodies, queries, path ids and headers are generated from the request
 * schemas and kept only when the schema refuses them (the schemas are the oracle), plus
 * broken JSON, unknown routes and methods, and junk keys. Every answer must be a 4xx
 * with application/problem+json, never a 5xx; and the fuzzed account's balances,
 * ledger, orders, webhooks, keys and status are the same afterwards.
 *
 * `npm test` runs a short version; `npm run fuzz` runs FUZZ_REQUESTS (10,000) and
 * prints the statuses it saw.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { z } from 'zod';
import { parseCursor } from '../../api/routes/events';
import { notificationsQuery, webhookBody } from '../../api/routes/notifications';
import { accountStatusBody, cancelOrderBody, createAccountBody, fundsBody, ledgerQuery, listOrdersQuery, placeOrderBody, rotateKeyBody, tickBody } from '../../api/schemas';
import { EVENT_TYPES } from '../../events/catalogue';
import { getAccountView, listApiKeys } from '../../persistence/accounts/repository';
import { ledgerEntries } from '../../persistence/ledger/repository';
import { listOrders } from '../../persistence/orders/repository';
import { listWebhooks } from '../../subscribers/notification/store';
import { OPERATOR_KEY, startApi, type Api } from '../support/api';
import { setupMessaging } from '../../scripts/setup-messaging';
import { fundedAccount } from '../support/fixtures';
import { startHarness, type Harness } from '../support/harness';

const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 400);

let h: Harness;
let api: Api;
let account: { id: string; apiKey: string };

beforeAll(async () => {
  h = await startHarness();
  // The streams exist, as in any deployment (GET /events reads them).
  await setupMessaging(h.config);
  api = await startApi(h, undefined, { RATE_LIMIT_PER_SECOND: 1_000_000, RATE_LIMIT_BURST: 1_000_000 });
  const res = await api.request('POST', '/accounts', { body: { name: 'fuzz' } });
  account = res.body;
  await api.request('POST', `/accounts/${account.id}/deposits`, { body: { asset: 'USD', amount: '1000', reference: 'fuzz-seed' } });
  // A second account's funds, so "unchanged" also covers money that is not the fuzzed key's own.
  await fundedAccount(h, { USD: '5' });
});
afterAll(async () => {
  await api?.close();
  await h?.close();
});

interface FuzzRequest {
  route: string;
  method: string;
  path: string;
  key: string | null;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
}

const junk = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.string({ maxLength: 40 }), fc.integer(), fc.double(), fc.constant(null), fc.boolean(), fc.constant(''));
const decimalish = fc.oneof(
  fc.constantFrom('1', '0', '-1', '1e3', '.5', '1.', '0.0000000000000000001', '123456789012345678901234', ' 1', '1,5', 'NaN'),
  fc.stringMatching(/^-?\d{0,25}(\.\d{0,22})?$/),
  junk,
);
const idish = (valid: string) => fc.oneof(fc.constant(valid), fc.uuid(), fc.string({ maxLength: 40 }), junk);
const textish = (...samples: string[]) => fc.oneof(fc.constantFrom(...samples), fc.string({ maxLength: 80 }), junk);

/** Bodies the schema refuses: near-valid records with some fields broken, or anything at all. */
function invalidBody<S extends z.ZodType>(schema: S, fields: Record<string, fc.Arbitrary<unknown>>, asRouteSees: (b: unknown) => unknown = (b) => b) {
  return fc
    .oneof({ weight: 4, arbitrary: fc.record(fields, { requiredKeys: [] }) }, { weight: 1, arbitrary: fc.oneof(fc.array(junk, { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 8 }), junk)) })
    .filter((b) => !schema.safeParse(asRouteSees(b)).success);
}

/** Query strings the schema refuses. */
function invalidQuery<S extends z.ZodType>(schema: S, fields: Record<string, fc.Arbitrary<string>>) {
  return fc
    .record(fields, { requiredKeys: [] })
    .filter((q) => !schema.safeParse(q).success)
    .map((q) => new URLSearchParams(q as Record<string, string>).toString());
}

/** A Last-Event-ID the stream would take (it would open a stream: never generated). */
function isCursor(v: string): boolean {
  try {
    parseCursor(v.trim());
    return true;
  } catch {
    return false;
  }
}

const str = (a: fc.Arbitrary<unknown>) => a.map((v) => (typeof v === 'string' ? v : JSON.stringify(v) ?? ''));

function requests(): fc.Arbitrary<FuzzRequest> {
  const acct = account.id;
  const key = account.apiKey;
  const accountPath = fc.oneof({ weight: 5, arbitrary: fc.constant(acct) }, { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 40 }).map(encodeURIComponent), fc.uuid()) });
  const funds = invalidBody(fundsBody, { asset: textish('USD', 'BTC', 'usd', 'XXXXXXXXXXXXXX'), amount: decimalish, reference: textish('ref-1', 'bad ref') });
  const post = (route: string, path: fc.Arbitrary<string>, body: fc.Arbitrary<unknown>, k: string | null = key) =>
    fc.record({ route: fc.constant(route), method: fc.constant('POST'), path, key: fc.constant(k), body });
  const get = (route: string, path: fc.Arbitrary<string>, k: string | null = key) => fc.record({ route: fc.constant(route), method: fc.constant('GET'), path, key: fc.constant(k) });

  return fc.oneof(
    post('POST /accounts', fc.constant('/accounts'), invalidBody(createAccountBody, { name: textish('', '   ', 'x'.repeat(201)) }), OPERATOR_KEY),
    post('POST /accounts/:id/deposits', accountPath.map((a) => `/accounts/${a}/deposits`), funds),
    post('POST /accounts/:id/withdrawals', accountPath.map((a) => `/accounts/${a}/withdrawals`), funds),
    fc.record({
      route: fc.constant('PUT /accounts/:id/status'),
      method: fc.constant('PUT'),
      path: accountPath.map((a) => `/accounts/${a}/status`),
      key: fc.constant(OPERATOR_KEY),
      body: invalidBody(accountStatusBody, { status: textish('active', 'FROZEN', 'ACTIVE ') }),
    }),
    post('POST /accounts/:id/keys', accountPath.map((a) => `/accounts/${a}/keys`), invalidBody(rotateKeyBody, { graceSeconds: fc.oneof(fc.integer({ min: -10, max: 10 ** 8 }), fc.double(), junk) }, (b) => b ?? {})),
    post('POST /accounts/:id/webhooks', accountPath.map((a) => `/accounts/${a}/webhooks`), invalidBody(webhookBody, { url: textish('https://hooks.example.com/x', 'ftp://x', 'http://', 'http://u:p@h/x'), events: fc.oneof(fc.array(textish('order.filled', 'order.created'), { maxLength: 20 }), junk) }, (b) => b ?? {})),
    post(
      'POST /orders',
      fc.constant('/orders'),
      invalidBody(placeOrderBody, {
        clientOrderId: textish('c-1', 'bad id', 'x'.repeat(65)),
        accountId: idish(acct),
        symbol: textish('BTC-USD', 'btc-usd', 'BTCUSD'),
        side: textish('BUY', 'SELL', 'buy'),
        type: textish('LIMIT', 'MARKET', 'STOP'),
        quantity: decimalish,
        limitPrice: fc.oneof(decimalish, fc.constant(null)),
        timeInForce: textish('GTC', 'IOC', 'GTD', 'DAY', 'FOK', 'gtc'),
        expireAt: textish('2099-01-01T00:00:00Z', 'tomorrow', '2099-13-01T00:00:00Z'),
      }),
    ),
    post('POST /orders/:id/cancel', idish(acct).map((id) => `/orders/${encodeURIComponent(String(id))}/cancel`), fc.oneof(fc.constant({}), invalidBody(cancelOrderBody, { reason: textish('x'.repeat(501)) }, (b) => b ?? {}))),
    post('POST /market/ticks', fc.constant('/market/ticks'), invalidBody(tickBody, { symbol: textish('BTC-USD', 'btc'), price: decimalish, liquidity: fc.oneof(decimalish, fc.constant(null)) }), OPERATOR_KEY),
    get('GET /orders', invalidQuery(listOrdersQuery, { accountId: str(idish(acct)), status: str(textish('FILLED', 'NOPE', 'filled,nope')), limit: str(textish('0', '501', 'x', '-1', '1.5')), before: str(junk) }).map((q) => `/orders?${q}`)),
    get('GET /accounts/:id/ledger', invalidQuery(ledgerQuery, { limit: str(textish('0', '1001', 'x')), before: str(textish('x', '-1', '1.5')) }).map((q) => `/accounts/${acct}/ledger?${q}`)),
    get('GET /accounts/:id/notifications', invalidQuery(notificationsQuery, { limit: str(textish('0', '501', 'x')), status: str(textish('SENT', 'pending,bogus')), before: str(textish('x', '1'.repeat(19))) }).map((q) => `/accounts/${acct}/notifications?${q}`)),
    get('GET /reports/accounts/:id', str(textish('2026-13-01', '2026-02-30', 'today', '')).filter((d) => !z.iso.date().safeParse(d).success).map((d) => `/reports/accounts/${acct}?date=${encodeURIComponent(d)}`)),
    get('GET /events', str(textish('order.nope', 'orders', ',,x')).filter((t) => t.split(',').some((x) => x.trim() && !(EVENT_TYPES as readonly string[]).includes(x.trim()))).map((t) => `/events?types=${encodeURIComponent(t)}`)),
    fc.record({
      route: fc.constant('GET /events Last-Event-ID'),
      method: fc.constant('GET'),
      path: fc.constant('/events'),
      key: fc.constant(key),
      headers: str(textish('orders:x', 'nope:1', 'orders:1:2', 'orders:1,orders:2', 'orders:99999999999999999999')).filter((v) => v.trim() !== '' && !isCursor(v) && /^[\x20-\x7e]*$/.test(v)).map((v) => ({ 'last-event-id': v })),
    }),
    fc.record({
      route: fc.constant('broken JSON'),
      method: fc.constantFrom('POST', 'PUT'),
      path: fc.constantFrom('/orders', `/accounts/${acct}/deposits`, `/accounts/${acct}/webhooks`, `/accounts/${acct}/status`, '/accounts'),
      key: fc.constant(OPERATOR_KEY),
      raw: fc.oneof(fc.constantFrom('{', '{"a":', '[1,', 'nul', '{"amount": 1e999999}', '"just a string"', '42'), fc.string({ maxLength: 60 }).filter((s) => { try { JSON.parse(s); return false; } catch { return true; } })),
    }),
    fc.record({
      route: fc.constant('unknown route or method'),
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
      path: fc.oneof(fc.constantFrom('/nope', '/accounts', `/accounts/${acct}/nope`, '/orders/x/y/z', '/market'), fc.webPath().filter((p) => !/^\/(accounts|orders|events|instruments|healthz|readyz|reports|market)/.test(p))),
      key: fc.constant(key),
    }).filter((r) => !(r.method === 'GET' && r.path === '/accounts')),
    fc.record({
      route: fc.constant('bad key'),
      method: fc.constant('GET'),
      path: fc.constantFrom(`/accounts/${acct}`, '/orders', `/accounts/${acct}/ledger`, '/events'),
      key: fc.oneof(fc.constant(null), fc.string({ maxLength: 60 }).filter((s) => /^[\x21-\x7e]+$/.test(s) && s !== key && s !== OPERATOR_KEY)),
    }),
  );
}

async function send(r: FuzzRequest): Promise<{ status: number; type: string | null }> {
  const headers: Record<string, string> = { ...r.headers };
  if (r.key) headers.authorization = `Bearer ${r.key}`;
  let body: string | undefined;
  if (r.raw !== undefined || r.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = r.raw ?? JSON.stringify(r.body);
  }
  const res = await fetch(`${api.url}${r.path}`, { method: r.method, headers, body, signal: AbortSignal.timeout(10_000) });
  await res.arrayBuffer();
  return { status: res.status, type: res.headers.get('content-type') };
}

async function snapshot() {
  const em = h.orm.em.fork();
  return {
    account: await getAccountView(em, account.id),
    ledger: await ledgerEntries(em, account.id, 1000),
    orders: await listOrders(em, { accountId: account.id, limit: 500 }),
    webhooks: await listWebhooks(em, account.id),
    keys: await listApiKeys(em, account.id),
  };
}

describe('API fuzz', () => {
  it(`${REQUESTS} invalid requests across every route: no 5xx, problem+json on every 4xx, nothing changed`, async () => {
    const before = await snapshot();
    const statuses = new Map<string, number>();
    const byRoute = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(requests(), async (r) => {
        const res = await send(r);
        statuses.set(String(res.status), (statuses.get(String(res.status)) ?? 0) + 1);
        byRoute.set(r.route, (byRoute.get(r.route) ?? 0) + 1);
        if (res.status < 400 || res.status >= 500 || !/^application\/problem\+json/.test(res.type ?? '')) {
          throw new Error(`${r.method} ${r.path} answered ${res.status} ${res.type}: ${JSON.stringify(r)}`);
        }
      }),
      { numRuns: REQUESTS, endOnFailure: true },
    );
    expect(await snapshot()).toEqual(before);
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    expect(total).toBe(REQUESTS);
    expect(byRoute.size).toBeGreaterThanOrEqual(15);
    // The figures the fuzz run reports (npm run fuzz).
    process.stdout.write(`\nfuzz: ${total} requests; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}; 5xx: ${[...statuses].filter(([s]) => s.startsWith('5')).length}\nfuzz: by route ${JSON.stringify(Object.fromEntries(byRoute))}\n`);
  });
});
