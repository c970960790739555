/**
 * An ExchangeAdapter behind a circuit breaker: after a run of failed calls to the venue
 * (submissions and cancels: errors, not refusals, which the venue answers as values),
 * the breaker opens and calls fail at once (BrokenCircuitError) instead of waiting on
 * a venue that is down; after a while one call probes it. The order workflow's
 * activities retry with their own backoff, so an order waits out an open breaker and
 * carries on when the venue answers again. Decorates any adapter; the order path does
 * not know it is there.
 */
import type { VenueAck, VenueCancelResult, VenueOrderRequest } from '../domain/venue';
import type { Breaker } from '../runtime/breaker';
import type { ExchangeAdapter } from './exchange';

/** The name the venue's breaker goes by on its process's board (and in readiness). */
export const VENUE_BREAKER = 'venue';

export class BreakerExchange implements ExchangeAdapter {
  constructor(
    private readonly inner: ExchangeAdapter,
    private readonly breaker: Breaker,
  ) {}

  submitOrder(order: VenueOrderRequest): Promise<VenueAck> {
    return this.breaker.execute(() => this.inner.submitOrder(order));
  }

  cancelOrder(orderId: string): Promise<VenueCancelResult> {
    return this.breaker.execute(() => this.inner.cancelOrder(orderId));
  }
}
