/**
 * The venue behind a circuit breaker (venue/breaker-exchange.ts): a run of failures
 * opens it and calls fail at once without reaching the venue; after the half-open
 * delay one call probes, and its success closes it. On the real order path: orders
 * submitted while the venue fails wait the breaker out and are accepted when it
 * answers again.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { VenueOrderRequest } from '../../domain/venue';
import { Breaker, BrokenCircuitError } from '../../runtime/breaker';
import { jittered } from '../../runtime/timing';
import { BreakerExchange } from '../../venue/breaker-exchange';
import type { ExchangeAdapter } from '../../venue/exchange';
import { fundedAccount, hasStatus, newInstrument, place, waitForOrder } from '../support/fixtures';
import { startHarness, type Harness } from '../support/harness';
import { eventually } from '../support/pipeline';

/** An adapter over `inner` whose calls fail while `failing` says so; counts the calls that reached it. */
function flaky(inner: ExchangeAdapter, failing: () => boolean) {
  const calls = { submit: 0 };
  const adapter: ExchangeAdapter = {
    async submitOrder(order: VenueOrderRequest) {
      calls.submit++;
      if (failing()) throw new Error('venue unreachable');
      return inner.submitOrder(order);
    },
    cancelOrder: (id) => inner.cancelOrder(id),
  };
  return { adapter, calls };
}

describe('breaker on the venue', () => {
  it('opens after the threshold, refuses without calling the venue, probes after the delay and closes on success', async () => {
    let down = true;
    const states: string[] = [];
    const breaker = new Breaker('venue', { failureThreshold: 3, halfOpenAfterMs: 200 }, (_n, s) => states.push(s));
    const venue = flaky({ submitOrder: async () => ({ status: 'RESTING', fills: [] }) as never, cancelOrder: async () => ({}) as never }, () => down);
    const exchange = new BreakerExchange(venue.adapter, breaker);
    const order = {} as VenueOrderRequest;
    for (let i = 0; i < 3; i++) await expect(exchange.submitOrder(order)).rejects.toThrow('venue unreachable');
    expect(breaker.state).toBe('open');
    await expect(exchange.submitOrder(order)).rejects.toThrow(BrokenCircuitError);
    await expect(exchange.cancelOrder('x')).rejects.toThrow(BrokenCircuitError);
    expect(venue.calls.submit).toBe(3);

    down = false;
    await eventually(
      () => exchange.submitOrder(order).then(() => 'accepted', (e: Error) => e.name),
      (r) => r === 'accepted',
    );
    expect(breaker.state).toBe('closed');
    expect(states).toEqual(['open', 'half-open', 'closed']);
    expect(venue.calls.submit).toBe(4);
  });

  it('retry delays are jittered within 75-100 % of the step', () => {
    const samples = Array.from({ length: 200 }, () => jittered(1_000));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(750);
    expect(Math.max(...samples)).toBeLessThanOrEqual(1_000);
    expect(new Set(samples).size).toBeGreaterThan(1);
    expect([jittered(1_000, () => 0), jittered(1_000, () => 1)]).toEqual([750, 1_000]);
  });
});

describe('breaker on the order path', () => {
  let h: Harness;
  let failures = 4;
  const breaker = new Breaker('venue', { failureThreshold: 2, halfOpenAfterMs: 300 });
  let calls: { submit: number };

  beforeAll(async () => {
    h = await startHarness({
      venueAdapter: (venue) => {
        const f = flaky(venue, () => failures-- > 0);
        calls = f.calls;
        return new BreakerExchange(f.adapter, breaker);
      },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('an order submitted while the venue fails waits the open breaker out and is accepted', async () => {
    const { symbol } = await newInstrument(h);
    const account = await fundedAccount(h, { USD: '1000' });
    const o = await place(h, account, { symbol, side: 'BUY', quantity: '1', limitPrice: '10' });
    const accepted = await waitForOrder(h, o.orderId, hasStatus('ACCEPTED'), 90_000);
    expect(accepted.status).toBe('ACCEPTED');
    // Four failures reached the venue, then the probe that succeeded; the calls refused while open never did.
    expect(calls.submit).toBe(5);
    expect(breaker.state).toBe('closed');
  });
});
