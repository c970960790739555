/**
 * The one thing the order path knows about a venue: an adapter that takes orders and
 * cancels. The simulated venue (venue/simulated/) is one implementation; a real
 * venue's connector would be another.
 */
import type { VenueAck, VenueCancelResult, VenueOrderRequest } from '../domain/venue';

export interface ExchangeAdapter {
  submitOrder(order: VenueOrderRequest): Promise<VenueAck>;
  cancelOrder(orderId: string): Promise<VenueCancelResult>;
}
