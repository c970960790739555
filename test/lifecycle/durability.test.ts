/**
 * No crash loses an order or a cent: every process (worker, venue, dispatcher,
 * clients) is replaced mid-lifecycle, and the order carries on from where it was.
 */
import { describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { OrderClient, orderIdFor } from '../../clients/order-client';
import { balances, expectLedgerInvariants, fundedAccount, hasStatus, newInstrument, orderRequest, place, tick, waitForOrder } from '../support/fixtures';
import { startHarness } from '../support/harness';

describe('durability', () => {
  it('a resting order survives a restart of every process and fills afterwards', async () => {
    const first = await startHarness();
    let symbol: string, base: string, a: string, orderId: string;
    try {
      ({ symbol, base } = await newInstrument(first));
      a = await fundedAccount(first, { USD: '1000' });
      const o = await place(first, a, { symbol, side: 'BUY', quantity: '2', limitPrice: '100' });
      expect(o.status).toBe('ACCEPTED');
      orderId = o.orderId;
      // Half of it fills while the first generation is up.
      await tick(first, symbol, '100', '1');
      await waitForOrder(first, orderId, hasStatus('PARTIALLY_FILLED'));
    } finally {
      await first.close();
    }

    // A tick while no worker runs: the venue records the fill; it waits for delivery.
    const second = await startHarness({ taskQueue: first.taskQueue });
    try {
      await second.venue.recordTick({ symbol, price: '99', liquidity: null });
      await second.dispatcher.drain();
      const done = await waitForOrder(second, orderId, hasStatus('FILLED'));
      expect(done).toMatchObject({ filledQuantity: '2', notional: '199', averageFillPrice: '99.5' });
      expect(await balances(second, a)).toEqual({ USD: { available: '801', locked: '0' }, [base]: { available: '2', locked: '0' } });
      await expectLedgerInvariants(second, a);
    } finally {
      await second.close();
    }
  });

  it('a fill the venue made while the worker was down is delivered once the worker is back', async () => {
    const first = await startHarness();
    const { symbol } = await newInstrument(first);
    const a = await fundedAccount(first, { USD: '1000' });
    const o = await place(first, a, { symbol, side: 'BUY', quantity: '1', limitPrice: '100' });
    const taskQueue = first.taskQueue;
    await first.close();

    // Another task queue: nobody serves the order's workflow now.
    const venueOnly = await startHarness({ dispatcher: { intervalMs: 60_000, deliveryTimeoutMs: 1_500 } });
    try {
      await venueOnly.venue.recordTick({ symbol, price: '100', liquidity: null });
      await venueOnly.dispatcher.drain();
      // The delivery timed out waiting for a worker: still PENDING, with the error, for a later attempt.
      const [pending] = await venueOnly.orm.em
        .fork()
        .execute<{ delivery: string; delivery_attempts: number; last_error: string }[]>(
          'select delivery, delivery_attempts, last_error from venue_fills where order_id = ?',
          [o.orderId],
        );
      expect(pending).toMatchObject({ delivery: 'PENDING', delivery_attempts: 1 });
      expect(pending.last_error).toBeTruthy();
    } finally {
      await venueOnly.close();
    }

    const back = await startHarness({ taskQueue });
    try {
      await back.orm.em.fork().execute('update venue_fills set next_attempt_at = now() where order_id = ?', [o.orderId]);
      await back.dispatcher.drain();
      expect((await waitForOrder(back, o.orderId, hasStatus('FILLED'))).filledQuantity).toBe('1');
      await expectLedgerInvariants(back, a);
    } finally {
      await back.close();
    }
  });

  it('a placement no worker decides in time is answered pending from what needs no worker, and goes on once one polls', async () => {
    const h = await startHarness();
    const taskQueue = `orders-unserved-${randomUUID()}`;
    let orderId: string, a: string;
    try {
      const { symbol } = await newInstrument(h);
      a = await fundedAccount(h, { USD: '1000' });
      // Nobody polls this task queue: the placing update can never be accepted in time.
      const unserved = new OrderClient(h.client, taskQueue, 1_500, () => h.orm.em.fork());
      const request = orderRequest(a, { symbol, side: 'BUY', quantity: '1', limitPrice: '100' });
      const outcome = await unserved.place(request, null);
      orderId = orderIdFor(a, request.clientOrderId);
      expect(outcome).toMatchObject({ pending: true, created: true, order: { orderId, status: 'NEW', version: 0, clientOrderId: request.clientOrderId } });
      // Nothing was decided: nothing locked yet.
      expect(await balances(h, a)).toEqual({ USD: { available: '1000', locked: '0' } });
      // The same request again: still pending, the same order, no error.
      expect(await unserved.place(request, null)).toMatchObject({ pending: true, order: { orderId } });
    } finally {
      await h.close();
    }

    const served = await startHarness({ taskQueue });
    try {
      expect((await waitForOrder(served, orderId, hasStatus('ACCEPTED'))).lockedAmount).toBe('100');
      await expectLedgerInvariants(served, a);
    } finally {
      await served.close();
    }
  });
});
