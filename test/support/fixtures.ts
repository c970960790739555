/** Scenario helpers for integration tests: accounts, deposits, orders, ticks, waiting. */
import { randomUUID } from 'node:crypto';
import { afterEach, expect } from '@jest/globals';
import type { OrderSnapshot, OrderStatus, PlaceOrderRequest } from '../../domain/order';
import { getAccountView } from '../../persistence/accounts/repository';
import { createAccount, deposit } from '../../activities/accounts';
import { reconcile } from '../../persistence/reconciliation';
import { getOrderQuery, orderWorkflowId } from '../../workflows/order/definitions';
import { expectEventsMatch } from './event-check';
import { expectPortfolioMatchesLedger } from './portfolio-check';
import type { Harness } from './harness';

export async function fundedAccount(h: Harness, funds: Record<string, string>): Promise<string> {
  const ctx = { correlationId: `test-${randomUUID()}`, causationId: null };
  const { id } = await createAccount(h.orm.em.fork(), `test-${randomUUID().slice(0, 8)}`, ctx);
  for (const [asset, amount] of Object.entries(funds)) {
    await deposit(h.orm.em.fork(), { accountId: id, asset, amount, reference: `seed-${asset}` }, ctx, h.venue);
  }
  return id;
}

export function orderRequest(accountId: string, r: Partial<PlaceOrderRequest> & Pick<PlaceOrderRequest, 'side'>): PlaceOrderRequest {
  return {
    clientOrderId: `c-${randomUUID()}`,
    accountId,
    symbol: 'BTC-USD',
    type: 'LIMIT',
    quantity: '1',
    limitPrice: r.type === 'MARKET' ? null : '100',
    timeInForce: r.type === 'MARKET' ? 'IOC' : 'GTC',
    expireAt: null,
    ...r,
  };
}

export async function place(h: Harness, accountId: string, r: Partial<PlaceOrderRequest> & Pick<PlaceOrderRequest, 'side'>): Promise<OrderSnapshot> {
  const outcome = await h.orders.place(orderRequest(accountId, r), null);
  return outcome.order;
}

/** Records a tick and delivers the fills it made to their workflows. */
export async function tick(h: Harness, symbol: string, price: string, liquidity: string | null = null): Promise<void> {
  await h.venue.recordTick({ symbol, price, liquidity });
  await h.dispatcher.drain();
}

export async function orderState(h: Harness, orderId: string): Promise<OrderSnapshot> {
  return h.client.workflow.getHandle(orderWorkflowId(orderId)).query(getOrderQuery);
}

/** Polls the workflow's live state until the predicate holds (or fails after timeoutMs). */
export async function waitForOrder(
  h: Harness,
  orderId: string,
  predicate: (o: OrderSnapshot) => boolean,
  timeoutMs = 20_000,
): Promise<OrderSnapshot> {
  const deadline = Date.now() + timeoutMs;
  let last: OrderSnapshot | undefined;
  while (Date.now() < deadline) {
    last = await orderState(h, orderId);
    if (predicate(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`order ${orderId} did not reach the expected state; last: ${JSON.stringify(last, null, 2)}`);
}

export const hasStatus = (...statuses: OrderStatus[]) => (o: OrderSnapshot) => statuses.includes(o.status);

/** The workflow's final snapshot (waits for the workflow to complete). */
export async function finalOrder(h: Harness, orderId: string): Promise<OrderSnapshot> {
  return h.client.workflow.getHandle(orderWorkflowId(orderId)).result();
}

export async function balances(h: Harness, accountId: string): Promise<Record<string, { available: string; locked: string }>> {
  const view = await getAccountView(h.orm.em.fork(), accountId);
  return Object.fromEntries((view?.balances ?? []).map((b) => [b.asset, { available: b.available, locked: b.locked }]));
}

/**
 * Asserts every ledger invariant of the reference holds for the account and, for one
 * account, that its events match what happened (test/support/event-check.ts).
 */
export async function expectLedgerInvariants(h: Harness, accountId: string | null): Promise<void> {
  expect(await reconcile(h.orm.em.fork(), accountId)).toEqual([]);
  if (accountId) await expectEventsMatch(h, accountId);
}

export interface InstrumentSpec {
  tickSize?: string;
  lotSize?: string;
  minQuantity?: string;
  feeRate?: string;
}

/**
 * A fresh instrument (and base asset) for one test, so its ticks match only its own
 * orders: the venue is shared by every test running against the database.
 */
export async function newInstrument(h: Harness, spec: InstrumentSpec = {}): Promise<{ symbol: string; base: string }> {
  const base = `T${randomUUID().replace(/-/g, '').slice(0, 8).toUpperCase()}`;
  const symbol = `${base}-USD`;
  const em = h.orm.em.fork();
  await em.execute('insert into assets (code, scale) values (?, 8)', [base]);
  await em.execute(
    `insert into instruments (symbol, base_asset, quote_asset, tick_size, lot_size, min_quantity, fee_rate)
     values (?, ?, 'USD', ?, ?, ?, ?)`,
    [symbol, base, spec.tickSize ?? '0.01', spec.lotSize ?? '0.001', spec.minQuantity ?? '0.001', spec.feeRate ?? '0'],
  );
  return { symbol, base };
}

/** The statuses an order went through, from the read model's transition history. */
export async function statusPath(h: Harness, orderId: string): Promise<string[]> {
  const rows = await h.orm.em
    .fork()
    .execute<{ to_status: string }[]>('select to_status from order_transitions where order_id = ? order by version', [orderId]);
  return rows.map((r) => r.to_status);
}

/** Runs fn, which must not settle before `ms`; used to assert that something waits. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * For a test file: a funded-account maker whose accounts get every invariant checked
 * after each test: the ledger, the events, and (when the file runs the portfolio
 * subscriber) the portfolio against the ledger.
 */
export function checkedAccounts(harness: () => Harness, opts: { portfolio?: boolean } = {}): (funds: Record<string, string>) => Promise<string> {
  const created: string[] = [];
  afterEach(async () => {
    for (const a of created.splice(0)) {
      await expectLedgerInvariants(harness(), a);
      if (opts.portfolio) await expectPortfolioMatchesLedger(harness(), a);
    }
  });
  return async (funds) => {
    const id = await fundedAccount(harness(), funds);
    created.push(id);
    return id;
  };
}
