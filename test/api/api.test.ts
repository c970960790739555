/** The HTTP API end to end: real Koa app, real workflows, real database. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client as PgClient } from 'pg';
import { balances, newInstrument, waitForOrder, hasStatus } from '../support/fixtures';
import { startHarness, type Harness } from '../support/harness';
import { startApi, type Api } from '../support/api';
import { expectLedgerInvariants } from '../support/fixtures';
import { eventually } from '../support/pipeline';
import { orderWorkflowId } from '../../workflows/order/definitions';

let h: Harness;
let api: Api;

beforeAll(async () => {
  h = await startHarness();
  api = await startApi(h);
});
afterAll(async () => {
  await api?.close();
  await h?.close();
});

async function newAccount(name = 'alice'): Promise<{ id: string; apiKey: string }> {
  const res = await api.request('POST', '/accounts', { body: { name } });
  expect(res.status).toBe(201);
  return res.body;
}

function expectProblem(res: { status: number; headers: Headers; body: any }, status: number, field?: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
  if (field) expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
}

describe('accounts and authentication', () => {
  it('creating an account needs the operator key and returns the account key once', async () => {
    expectProblem(await api.request('POST', '/accounts', { key: null, body: { name: 'x' } }), 401);
    expectProblem(await api.request('POST', '/accounts', { key: 'nope', body: { name: 'x' } }), 401);
    const alice = await newAccount();
    expect(alice).toEqual({ id: expect.any(String), name: 'alice', apiKey: expect.stringMatching(/^oms_/) });
    expectProblem(await api.request('POST', '/accounts', { key: alice.apiKey, body: { name: 'x' } }), 403);
    expectProblem(await api.request('POST', '/accounts', { body: { name: '' } }), 400, 'name');
    const [row] = await h.orm.em.fork().execute<{ key_hash: string }[]>('select key_hash from account_api_keys where account_id = ?', [alice.id]);
    expect(row.key_hash).not.toContain(alice.apiKey);
  });

  it("an account key reaches its own account only; the operator's reaches all", async () => {
    const alice = await newAccount();
    const bob = await newAccount('bob');
    expect((await api.request('GET', `/accounts/${alice.id}`, { key: alice.apiKey })).body).toMatchObject({ id: alice.id, name: 'alice', balances: [] });
    expectProblem(await api.request('GET', `/accounts/${bob.id}`, { key: alice.apiKey }), 403);
    expect((await api.request('GET', `/accounts/${bob.id}`)).status).toBe(200);
    expectProblem(await api.request('GET', '/accounts/0d5e1c7a-0000-4000-8000-000000000000'), 404);
    expectProblem(await api.request('GET', '/accounts/not-a-uuid'), 400);
  });

  it('deposits are idempotent per reference; withdrawals never overdraw', async () => {
    const alice = await newAccount();
    const path = `/accounts/${alice.id}`;
    const first = await api.request('POST', `${path}/deposits`, { key: alice.apiKey, body: { asset: 'USD', amount: '1000.25', reference: 'wire-1' } });
    expect(first.status).toBe(201);
    expect(first.body.account.balances).toEqual([{ asset: 'USD', available: '1000.25', locked: '0' }]);
    const again = await api.request('POST', `${path}/deposits`, { key: alice.apiKey, body: { asset: 'USD', amount: '1000.25', reference: 'wire-1' } });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ duplicate: true, transactionId: first.body.transactionId });
    expectProblem(await api.request('POST', `${path}/deposits`, { key: alice.apiKey, body: { asset: 'USD', amount: '5', reference: 'wire-1' } }), 409);
    expectProblem(await api.request('POST', `${path}/deposits`, { key: alice.apiKey, body: { asset: 'XXX', amount: '5', reference: 'r' } }), 400, 'asset');
    expectProblem(await api.request('POST', `${path}/deposits`, { key: alice.apiKey, body: { asset: 'USD', amount: '5.001', reference: 'r' } }), 400, 'amount');
    expectProblem(await api.request('POST', `${path}/deposits`, { key: alice.apiKey, body: { asset: 'USD', amount: '-5', reference: 'r' } }), 400, 'amount');
    expectProblem(await api.request('POST', `${path}/deposits`, { key: alice.apiKey, body: { asset: 'USD', amount: 'lots', reference: 'bad ref' } }), 400, 'reference');

    const over = await api.request('POST', `${path}/withdrawals`, { key: alice.apiKey, body: { asset: 'USD', amount: '1000.26', reference: 'out-1' } });
    expectProblem(over, 409);
    expect(over.body).toMatchObject({ title: 'Insufficient funds', asset: 'USD', available: '1000.25' });
    const ok = await api.request('POST', `${path}/withdrawals`, { key: alice.apiKey, body: { asset: 'USD', amount: '0.25', reference: 'out-2' } });
    expect(ok.status).toBe(201);
    expect(ok.body.account.balances).toEqual([{ asset: 'USD', available: '1000', locked: '0' }]);

    const ledger = await api.request('GET', `${path}/ledger`, { key: alice.apiKey });
    expect(ledger.body.entries.map((e: any) => [e.kind, e.amount])).toEqual([
      ['WITHDRAWAL', '-0.25'],
      ['DEPOSIT', '1000.25'],
    ]);
    await expectLedgerInvariants(h, alice.id);
  });

  it('takes money only as plain decimal strings: numbers and other notations are refused, big values stay exact', async () => {
    const alice = await newAccount();
    const deposit = (amount: unknown) => api.request('POST', `/accounts/${alice.id}/deposits`, { key: alice.apiKey, body: { asset: 'USD', amount, reference: `r-${String(amount)}` } });
    // A JSON number was rounded by the parser already (12345678901234567 -> ...568): refused.
    const asNumber = await api.request('POST', `/accounts/${alice.id}/deposits`, { key: alice.apiKey, raw: '{"asset":"USD","amount":12345678901234567,"reference":"n1"}' });
    expectProblem(asNumber, 400, 'amount');
    expect(asNumber.body.errors[0].message).toMatch(/must be a string/);
    for (const bad of ['.5', '1.', '1e3', '+1', ' 1', '1,5', '0x10', '']) expectProblem(await deposit(bad), 400, 'amount');
    const order = await api.request('POST', '/orders', {
      key: alice.apiKey,
      body: { clientOrderId: 'num-1', accountId: alice.id, symbol: 'BTC-USD', side: 'BUY', type: 'LIMIT', quantity: 1, limitPrice: '100' },
    });
    expectProblem(order, 400, 'quantity');
    // Nothing of that changed the account...
    expect((await api.request('GET', `/accounts/${alice.id}`, { key: alice.apiKey })).body.balances).toEqual([]);
    // ...and the same amount as a string is booked to the last digit.
    expect((await deposit('12345678901234567')).status).toBe(201);
    expect((await api.request('GET', `/accounts/${alice.id}`, { key: alice.apiKey })).body.balances).toEqual([{ asset: 'USD', available: '12345678901234567', locked: '0' }]);
  });

  it('answers malformed JSON and unknown routes with problems', async () => {
    expectProblem(await api.request('POST', '/accounts', { raw: '{"name":' }), 400);
    expectProblem(await api.request('GET', '/nowhere'), 404);
  });
});

describe('orders over HTTP', () => {
  async function funded(): Promise<{ id: string; apiKey: string }> {
    const a = await newAccount();
    await api.request('POST', `/accounts/${a.id}/deposits`, { key: a.apiKey, body: { asset: 'USD', amount: '10000', reference: 'seed' } });
    return a;
  }

  it('places, retries, reads, lists and cancels an order', async () => {
    const { symbol } = await newInstrument(h);
    const a = await funded();
    const body = { clientOrderId: 'o-1', accountId: a.id, symbol, side: 'BUY', type: 'LIMIT', quantity: '2', limitPrice: '100.5' };
    const placed = await api.request('POST', '/orders', { key: a.apiKey, body, headers: { 'x-correlation-id': 'req-123' } });
    expect(placed.status).toBe(201);
    expect(placed.headers.get('x-correlation-id')).toBe('req-123');
    expect(placed.body).toMatchObject({
      orderId: expect.any(String), clientOrderId: 'o-1', accountId: a.id, symbol, side: 'BUY', type: 'LIMIT', quantity: '2', limitPrice: '100.5',
      timeInForce: 'GTC', expireAt: null, status: 'ACCEPTED', filledQuantity: '0', leavesQuantity: '2', averageFillPrice: null, fills: [],
      rejectReason: null, createdAt: expect.any(String), updatedAt: expect.any(String),
    });
    const id = placed.body.orderId;

    const retry = await api.request('POST', '/orders', { key: a.apiKey, body });
    expect(retry.status).toBe(200);
    expect(retry.body.orderId).toBe(id);
    expect(retry.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
    expectProblem(await api.request('POST', '/orders', { key: a.apiKey, body: { ...body, quantity: '3' } }), 409);

    expect((await api.request('GET', `/orders/${id}`, { key: a.apiKey })).body).toMatchObject({ orderId: id, status: 'ACCEPTED' });
    const listed = await api.request('GET', `/orders?status=ACCEPTED,PARTIALLY_FILLED`, { key: a.apiKey });
    expect(listed.body.orders.map((o: any) => o.orderId)).toEqual([id]);
    expectProblem(await api.request('GET', '/orders?status=SLEEPING', { key: a.apiKey }), 400, 'status');

    const cancelled = await api.request('POST', `/orders/${id}/cancel`, { key: a.apiKey });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ orderId: id, status: 'CANCELLED', cancelOutcome: 'CANCELLED' });
    const refused = await api.request('POST', `/orders/${id}/cancel`, { key: a.apiKey });
    expectProblem(refused, 409);
    expect(refused.body).toMatchObject({ orderStatus: 'CANCELLED', detail: 'order is already CANCELLED' });
    await expectLedgerInvariants(h, a.id);
  });

  it('a clientOrderId reused after Temporal forgot the closed workflow is answered from the orders table, never placed again', async () => {
    const a = await funded();
    const { symbol } = await newInstrument(h);
    const body = { clientOrderId: 'forgotten-1', accountId: a.id, symbol, side: 'BUY', type: 'LIMIT', quantity: '1', limitPrice: '100' };
    const placed = await api.request('POST', '/orders', { key: a.apiKey, body });
    expect(placed.status).toBe(201);
    const id = placed.body.orderId;
    expect((await api.request('POST', `/orders/${id}/cancel`, { key: a.apiKey })).body.status).toBe('CANCELLED');
    // Retention ran out: Temporal no longer knows the workflow (the server deletes it in the background).
    const handle = h.client.workflow.getHandle(orderWorkflowId(id));
    await handle.result();
    await h.client.workflowService.deleteWorkflowExecution({ namespace: h.config.TEMPORAL_NAMESPACE, workflowExecution: { workflowId: handle.workflowId } });
    await eventually(
      () => handle.describe().then((d) => `still there: ${d.status.name}`, (e) => `gone: ${String(e)}`),
      (s) => s.startsWith('gone'),
      60_000,
    );
    const before = await balances(h, a.id);
    const again = await api.request('POST', '/orders', { key: a.apiKey, body });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ orderId: id, status: 'CANCELLED' });
    const conflict = await api.request('POST', '/orders', { key: a.apiKey, body: { ...body, limitPrice: '101' } });
    expectProblem(conflict, 409);
    expect(conflict.body.field).toBe('clientOrderId');
    // Nothing was placed, locked or started again.
    expect(await balances(h, a.id)).toEqual(before);
    await expect(handle.describe()).rejects.toThrow();
  });

  it('an order whose notional exceeds the cap is rejected at once, and nothing is locked', async () => {
    const a = await funded();
    const body = { clientOrderId: 'huge-1', accountId: a.id, symbol: 'BTC-USD', side: 'BUY', type: 'LIMIT', quantity: '1000000000000', limitPrice: '1000000000' };
    const res = await api.request('POST', '/orders', { key: a.apiKey, body });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'REJECTED', lockedAmount: '0' });
    expect(res.body.rejectReason).toMatch(/^NOTIONAL_TOO_LARGE: /);
    expect(await balances(h, a.id)).toEqual({ USD: { available: '10000', locked: '0' } });
  });

  it('refuses bad input with the offending fields, and changes nothing', async () => {
    const a = await funded();
    const res = await api.request('POST', '/orders', {
      key: a.apiKey,
      body: { clientOrderId: 'x y', accountId: a.id, symbol: 'btc', side: 'HOLD', type: 'LIMIT', quantity: '0', limitPrice: 'abc', timeInForce: 'NEVER' },
    });
    expectProblem(res, 400);
    expect(res.body.errors.map((e: any) => e.field).sort()).toEqual(['clientOrderId', 'limitPrice', 'quantity', 'side', 'symbol', 'timeInForce']);
    expect((await api.request('GET', `/orders?accountId=${a.id}`)).body.orders).toEqual([]);
    expect((await api.request('GET', `/accounts/${a.id}`)).body.balances).toEqual([{ asset: 'USD', available: '10000', locked: '0' }]);
  });

  it('a business rule rejection is an order in REJECTED, with its reason', async () => {
    const a = await funded();
    const res = await api.request('POST', '/orders', {
      key: a.apiKey,
      body: { clientOrderId: 'r-1', accountId: a.id, symbol: 'BTC-USD', side: 'BUY', type: 'LIMIT', quantity: '1', limitPrice: '100.001' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'REJECTED', rejectReason: expect.stringMatching(/^INVALID_TICK: /) });
  });

  it("keeps accounts apart: another account's order is 403, an unknown one 404", async () => {
    const { symbol } = await newInstrument(h);
    const a = await funded();
    const b = await funded();
    const placed = await api.request('POST', '/orders', {
      key: a.apiKey,
      body: { clientOrderId: 'mine', accountId: a.id, symbol, side: 'BUY', type: 'LIMIT', quantity: '1', limitPrice: '1' },
    });
    expectProblem(await api.request('GET', `/orders/${placed.body.orderId}`, { key: b.apiKey }), 403);
    expectProblem(await api.request('POST', `/orders/${placed.body.orderId}/cancel`, { key: b.apiKey }), 403);
    expectProblem(await api.request('POST', '/orders', { key: b.apiKey, body: { clientOrderId: 'x', accountId: a.id, symbol, side: 'BUY', type: 'LIMIT', quantity: '1', limitPrice: '1' } }), 403);
    expectProblem(await api.request('GET', `/orders?accountId=${a.id}`, { key: b.apiKey }), 403);
    expectProblem(await api.request('GET', '/orders/0d5e1c7a-0000-4000-8000-000000000000', { key: b.apiKey }), 404);
    await api.request('POST', `/orders/${placed.body.orderId}/cancel`, { key: a.apiKey });
  });

  it('ticks need the operator key, match resting orders and are checked against the instrument', async () => {
    const { symbol } = await newInstrument(h);
    const a = await funded();
    const placed = await api.request('POST', '/orders', {
      key: a.apiKey,
      body: { clientOrderId: 't-1', accountId: a.id, symbol, side: 'BUY', type: 'LIMIT', quantity: '1', limitPrice: '100' },
    });
    expectProblem(await api.request('POST', '/market/ticks', { key: a.apiKey, body: { symbol, price: '99' } }), 403);
    expectProblem(await api.request('POST', '/market/ticks', { body: { symbol: 'NOPE-USD', price: '99' } }), 400, 'symbol');
    expectProblem(await api.request('POST', '/market/ticks', { body: { symbol, price: '99.001' } }), 400, 'price');
    const t = await api.request('POST', '/market/ticks', { body: { symbol, price: '99', liquidity: '5' } });
    expect(t.status).toBe(202);
    expect(t.body).toMatchObject({ symbol, price: '99', matched: 1 });
    await h.dispatcher.drain(); // what the venue process does when the tick's NOTIFY wakes it
    const filled = await waitForOrder(h, placed.body.orderId, hasStatus('FILLED'));
    expect(filled.averageFillPrice).toBe('99');
    expect((await api.request('GET', `/orders/${placed.body.orderId}`, { key: a.apiKey })).body).toMatchObject({
      status: 'FILLED',
      fills: [{ tradeId: expect.any(String), quantity: '1', price: '99', fee: '0', at: expect.any(String) }],
    });
  });
});

describe('system', () => {
  it('lists the seeded instruments without a key', async () => {
    const res = await api.request('GET', '/instruments', { key: null });
    expect(res.body.instruments).toEqual(
      expect.arrayContaining([
        { symbol: 'BTC-USD', baseAsset: 'BTC', quoteAsset: 'USD', tickSize: '0.01', lotSize: '0.00001', minQuantity: '0.0001', feeRate: '0', active: true },
        expect.objectContaining({ symbol: 'ETH-USD', baseAsset: 'ETH', quoteAsset: 'USD' }),
      ]),
    );
  });

  it('readiness reports each part, and 503 when one is down; liveness does not depend on them', async () => {
    // (This file declares no consumers, so its subscriber parts are down: test/api/readiness.test.ts covers the whole.)
    const seen = await api.request('GET', '/readyz', { key: null });
    expect(seen.body).toMatchObject({ checks: { temporal: { status: 'up' }, postgres: { status: 'up' } } });

    // A PostgreSQL that is not there (nothing listens on port 1).
    const down = await startApi(h, [
      { name: 'temporal', check: async () => void (await h.client.workflowService.getSystemInfo({})) },
      {
        name: 'postgres',
        check: async () => {
          const c = new PgClient({ connectionString: 'postgres://postgres@127.0.0.1:1/x', connectionTimeoutMillis: 500 });
          await c.connect();
        },
      },
    ]);
    try {
      const res = await down.request('GET', '/readyz', { key: null });
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ status: 'not ready', checks: { temporal: { status: 'up' }, postgres: { status: 'down', error: expect.any(String) } } });
      expect(await down.request('GET', '/healthz', { key: null })).toMatchObject({ status: 200, body: { status: 'ok' } });
    } finally {
      await down.close();
    }
  });
});
