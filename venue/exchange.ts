/**
 * The one thing the order path knows about a venue: an adapter that takes orders and
 * cancels. The simulated venue (venue/simulated/) is one implementation; a real
 * venue's connector would be another.
 */
import type { VenueAck, VenueCancelResult, VenueOrderRequest } from '../domain/venue';

export interface ExchangeAdapter {
  /** Idempotent by order id: a retried submission answers as the first did. */
  submitOrder(order: VenueOrderRequest): Promise<VenueAck>;
  /**
   * Cancels what is live of the order. An order id the venue never received answers
   * UNKNOWN_ORDER and is closed: a submission that arrives under it later is REJECTED.
   * That is what lets the order workflow give up on a submission (deadline, or a
   * cancel while NEW) and release the funds without the order going live after.
   */
  cancelOrder(orderId: string): Promise<VenueCancelResult>;
}
