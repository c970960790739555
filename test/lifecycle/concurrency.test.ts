/** Concurrency: fund locking never overdraws, and a retried request never makes a second order. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { balances, expectLedgerInvariants, fundedAccount, newInstrument, orderRequest } from '../support/fixtures';
import { startHarness, type Harness } from '../support/harness';
import { orderWorkflowId } from '../../workflows/order/definitions';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('concurrency', () => {
  it('50 orders placed at once on a balance that covers 10: exactly 10 are accepted', async () => {
    const { symbol } = await newInstrument(h);
    const a = await fundedAccount(h, { USD: '1000' });
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        h.orders.place(orderRequest(a, { symbol, side: 'BUY', quantity: '1', limitPrice: '100', clientOrderId: `burst-${i}` }), null),
      ),
    );
    const byStatus = outcomes.reduce<Record<string, number>>((acc, o) => ({ ...acc, [o.order.status]: (acc[o.order.status] ?? 0) + 1 }), {});
    expect(byStatus).toEqual({ ACCEPTED: 10, REJECTED: 40 });
    for (const o of outcomes.filter((x) => x.order.status === 'REJECTED')) expect(o.order.rejectReason).toMatch(/^INSUFFICIENT_FUNDS/);
    expect(await balances(h, a)).toEqual({ USD: { available: '0', locked: '1000' } });
    await expectLedgerInvariants(h, a);
  });

  it('the same clientOrderId sent 10 times at once makes one order', async () => {
    const { symbol } = await newInstrument(h);
    const a = await fundedAccount(h, { USD: '1000' });
    const request = orderRequest(a, { symbol, side: 'BUY', quantity: '1', limitPrice: '100', clientOrderId: 'same-one' });
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => h.orders.place(request, null)));
    expect(new Set(outcomes.map((o) => o.order.orderId)).size).toBe(1);
    // The same request is the same update (its id derives from the terms): one
    // placeOrder update in the history however often it came, and every copy that came
    // before the order was recorded gets the original's answer (created).
    expect(outcomes.some((o) => o.created)).toBe(true);
    const handle = h.client.workflow.getHandle(orderWorkflowId(outcomes[0].order.orderId));
    const updates = async () =>
      ((await handle.fetchHistory()).events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'placeOrder');
    expect(await updates()).toHaveLength(1);
    expect(await balances(h, a)).toEqual({ USD: { available: '900', locked: '100' } });
    // A retry once the order is recorded: not created, still no new update.
    expect(await h.orders.place(request, null)).toMatchObject({ created: false, order: { orderId: outcomes[0].order.orderId } });
    expect(await updates()).toHaveLength(1);
    // After the order has closed, a retry still answers with the same order.
    await h.orders.cancel(outcomes[0].order.orderId, null, null);
    const later = await h.orders.place(request, null);
    expect(later).toMatchObject({ created: false, order: { orderId: outcomes[0].order.orderId, status: 'CANCELLED' } });
    // The same clientOrderId with other terms is a conflict, not a new order.
    await expect(h.orders.place({ ...request, quantity: '2' }, null)).rejects.toThrow(/already used for a different order/);
    await expectLedgerInvariants(h, a);
  });
});
