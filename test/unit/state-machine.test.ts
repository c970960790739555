/** The transition table: exhaustive pairs and property-based walks. */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  assertTransition,
  canTransition,
  cancelRefusal,
  IllegalTransitionError,
  isTerminal,
  ORDER_STATUSES,
  TRANSITIONS,
  type OrderStatus,
} from '../../domain/order';

const REFERENCE: Record<OrderStatus, OrderStatus[]> = {
  NEW: ['ACCEPTED', 'REJECTED', 'FILLED', 'PARTIALLY_FILLED', 'CANCELLED'],
  ACCEPTED: ['PARTIALLY_FILLED', 'FILLED', 'PENDING_CANCEL', 'CANCELLED', 'EXPIRED'],
  PARTIALLY_FILLED: ['PARTIALLY_FILLED', 'FILLED', 'PENDING_CANCEL', 'CANCELLED', 'EXPIRED'],
  // CANCELLED, FILLED (fill won), PARTIALLY_FILLED (then CANCELLED), EXPIRED; a refused cancel returns to ACCEPTED/PARTIALLY_FILLED
  PENDING_CANCEL: ['CANCELLED', 'FILLED', 'PARTIALLY_FILLED', 'EXPIRED', 'ACCEPTED'],
  REJECTED: [],
  FILLED: [],
  CANCELLED: [],
  EXPIRED: [],
};

describe('transition table', () => {
  it('allows exactly the reference transitions, for every pair of statuses', () => {
    for (const from of ORDER_STATUSES) {
      for (const to of ORDER_STATUSES) {
        const allowed = REFERENCE[from].includes(to);
        expect([from, to, canTransition(from, to)]).toEqual([from, to, allowed]);
        if (allowed) expect(() => assertTransition(from, to)).not.toThrow();
        else expect(() => assertTransition(from, to)).toThrow(IllegalTransitionError);
      }
    }
  });

  it('terminal statuses are exactly those with no way out', () => {
    for (const s of ORDER_STATUSES) expect(isTerminal(s)).toBe(TRANSITIONS[s].length === 0);
    expect(ORDER_STATUSES.filter(isTerminal).sort()).toEqual(['CANCELLED', 'EXPIRED', 'FILLED', 'REJECTED']);
  });

  it('every random walk from NEW stays on the table and can always still end', () => {
    const reachesTerminal = (s: OrderStatus, seen = new Set<OrderStatus>()): boolean =>
      isTerminal(s) || (!seen.has(s) && TRANSITIONS[s].some((n) => reachesTerminal(n, new Set([...seen, s]))));
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 30 }), (choices) => {
        let s: OrderStatus = 'NEW';
        for (const c of choices) {
          expect(reachesTerminal(s)).toBe(true);
          const next: readonly OrderStatus[] = TRANSITIONS[s];
          if (next.length === 0) break;
          const to: OrderStatus = next[c % next.length];
          assertTransition(s, to);
          s = to;
        }
      }),
    );
  });

  it('a cancel is accepted only for ACCEPTED and PARTIALLY_FILLED with no cancel pending', () => {
    for (const s of ORDER_STATUSES) {
      const accepted = s === 'ACCEPTED' || s === 'PARTIALLY_FILLED';
      expect(cancelRefusal(s, false) === null).toBe(accepted);
      expect(cancelRefusal(s, true)).not.toBeNull();
    }
    expect(cancelRefusal('FILLED', false)).toBe('order is already FILLED');
    expect(cancelRefusal('PENDING_CANCEL', false)).toBe('a cancel is already pending for this order');
  });
});
