/**
 * Fault injection around the real simulated venue: cancels can be held (to let a
 * fill race a pending cancel) or refused (a venue refusing a cancel), and submissions
 * can fail (a venue down), deterministically.
 */
import type { VenueAck, VenueCancelResult, VenueOrderRequest } from '../../domain/venue';
import type { ExchangeAdapter } from '../../venue/exchange';
import type { SimulatedVenue } from '../../venue/simulated/venue';

export class ControlledVenue implements ExchangeAdapter {
  private gate: Promise<void> | null = null;
  private release: (() => void) | null = null;
  /** Cancels that reached the venue and are waiting at the gate. */
  waiting = 0;
  refuseCancels = false;
  /** The venue is unreachable for submissions (each one fails as a network error would). */
  submissionsDown = false;

  constructor(private readonly real: SimulatedVenue) {}

  /** Makes every cancel wait until the returned function is called. */
  holdCancels(): () => void {
    this.gate = new Promise((resolve) => (this.release = resolve));
    return () => {
      this.release?.();
      this.gate = null;
    };
  }

  async submitOrder(order: VenueOrderRequest): Promise<VenueAck> {
    if (this.submissionsDown) throw new Error('connect ECONNREFUSED (venue unavailable)');
    return this.real.submitOrder(order);
  }

  async cancelOrder(orderId: string): Promise<VenueCancelResult> {
    if (this.gate) {
      this.waiting++;
      await this.gate;
      this.waiting--;
    }
    if (this.refuseCancels) {
      return { cancelled: false, reason: 'REFUSED', fills: [], remaining: '0' };
    }
    return this.real.cancelOrder(orderId);
  }
}
