/** Scenario helpers for integration tests: accounts, deposits, orders, ticks, waiting. */
import { randomUUID } from 'node:crypto';
import { expect } from '@jest/globals';
import type { OrderSnapshot, OrderStatus, PlaceOrderRequest } from '../../domain/order';
import { createAccount, deposit, getAccountView } from '../../persistence/accounts';
import { reconcile } from '../../persistence/reconciliation';
import { getOrderQuery, orderWorkflowId } from '../../workflows/order/definitions';
import type { Harness } from './harness';

export async function fundedAccount(h: Harness, funds: Record<string, string>): Promise<string> {
  const { id } = await createAccount(h.orm.em.fork(), `test-${randomUUID().slice(0, 8)}`);
  for (const [asset, amount] of Object.entries(funds)) {
    await deposit(h.orm.em.fork(), { accountId: id, asset, amount, reference: `seed-${asset}` });
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

/** Asserts every ledger invariant of the reference holds for the account. */
export async function expectLedgerInvariants(h: Harness, accountId: string | null): Promise<void> {
  expect(await reconcile(h.orm.em.fork(), accountId)).toEqual([]);
}
