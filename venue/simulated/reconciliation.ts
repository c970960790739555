/**
 * Reconciliation against the simulated venue: its executions, the orders' fills and
 * (through them) the ledger, three ways. A venue execution that its order refused,
 * that never reached it, or that waits for delivery too long shows up here, as does an
 * order fill the venue never made or made differently. `npm run reconcile` runs these
 * after the ledger's own checks when the simulated venue is the configured venue.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { runChecks, type ReconciliationCheck, type Violation } from '../../persistence/reconciliation';

/** How long a fill may wait for delivery before reconciliation calls it stuck. */
export const STUCK_FILL_MINUTES = 5;

const VENUE_CHECKS: ReconciliationCheck[] = [
  {
    check: 'a venue execution was refused by its order',
    query: `select f.trade_id, f.order_id, f.quantity, f.price, f.last_error
          from venue_fills f join orders o on o.id = f.order_id
          where f.delivery = 'REFUSED' and (:accountId::uuid is null or o.account_id = :accountId::uuid)`,
  },
  {
    check: 'a venue execution is still undelivered',
    query: `select f.trade_id, f.order_id, f.quantity, f.price, f.executed_at, f.delivery_attempts, f.last_error
          from venue_fills f join orders o on o.id = f.order_id
          where f.delivery = 'PENDING' and f.executed_at < now() - make_interval(mins => :stuckMinutes)
            and (:accountId::uuid is null or o.account_id = :accountId::uuid)`,
  },
  {
    check: 'a delivered venue execution is not among its order fills',
    query: `select f.trade_id, f.order_id, f.quantity, f.price
          from venue_fills f join orders o on o.id = f.order_id
          where f.delivery = 'DELIVERED' and not exists (select 1 from order_fills of where of.trade_id = f.trade_id::text)
            and (:accountId::uuid is null or o.account_id = :accountId::uuid)`,
  },
  {
    // An order the retention job pruned from the venue (closed, every fill reflected) has no executions left to compare.
    check: 'an order fill differs from the venue execution, or the venue made none',
    query: `select of.trade_id, of.order_id, of.quantity, of.price, f.quantity as venue_quantity, f.price as venue_price
          from order_fills of join orders o on o.id = of.order_id
          left join venue_fills f on f.trade_id::text = of.trade_id
          where (f.trade_id is null and exists (select 1 from venue_orders vo where vo.order_id = of.order_id) or f.quantity <> of.quantity or f.price <> of.price)
            and (:accountId::uuid is null or o.account_id = :accountId::uuid)`,
  },
];

/** The venue's checks; `em` on the database that holds both the core and the venue's tables. */
export async function reconcileVenue(em: EntityManager, accountId: string | null = null, stuckMinutes = STUCK_FILL_MINUTES): Promise<Violation[]> {
  return runChecks(em, VENUE_CHECKS, { accountId, stuckMinutes });
}
