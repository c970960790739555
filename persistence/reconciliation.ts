/**
 * Reconciliation: checks the ledger invariants (README, "The ledger")
 * against the database. Tests run it after every scenario; operators run it with
 * `npm run reconcile`. Returns the violations found (empty: all invariants hold).
 *
 * For every account and asset:
 *  - available >= 0 and locked >= 0;
 *  - the balance equals the sum of its ledger entries, per bucket;
 *  - locked = what the account's open orders still hold (and each order's hold
 *    equals its own lock entries in the ledger; terminal orders hold nothing);
 *  - available + locked = deposits - withdrawals + fill credits - fill debits - fees.
 * For the ledger: every transaction balances per asset.
 * For every order: live orders have quantity = filled + leaves, filled = sum of fills.
 *
 * Each check is one set-based query (full joins and aggregates over whole tables),
 * which is what SQL says best: they stay raw, read-only, with a named parameter.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { sql, type SqlParams } from './sql';

export interface Violation {
  check: string;
  detail: Record<string, unknown>;
}

const CHECKS: ReconciliationCheck[] = [
  {
    check: 'balance is negative',
    query: `select account_id, asset, available, locked from balances
          where (:accountId::uuid is null or account_id = :accountId::uuid) and (available < 0 or locked < 0)`,
  },
  {
    check: 'balance differs from its ledger entries',
    query: `with sums as (
            select account_id, asset,
              coalesce(sum(amount) filter (where bucket = 'available'), 0) as available,
              coalesce(sum(amount) filter (where bucket = 'locked'), 0) as locked
            from ledger_entries where book = 'customer' group by account_id, asset)
          select coalesce(b.account_id, s.account_id) as account_id, coalesce(b.asset, s.asset) as asset,
            b.available as balance_available, s.available as ledger_available, b.locked as balance_locked, s.locked as ledger_locked
          from balances b full join sums s on s.account_id = b.account_id and s.asset = b.asset
          where (:accountId::uuid is null or coalesce(b.account_id, s.account_id) = :accountId::uuid)
            and (coalesce(b.available, 0) <> coalesce(s.available, 0) or coalesce(b.locked, 0) <> coalesce(s.locked, 0))`,
  },
  {
    check: 'locked differs from what open orders hold',
    query: `with holds as (
            select account_id, locked_asset as asset, sum(locked_amount) as held from orders
            where status not in ('REJECTED', 'FILLED', 'CANCELLED', 'EXPIRED') and locked_asset is not null
            group by account_id, locked_asset)
          select coalesce(b.account_id, h.account_id) as account_id, coalesce(b.asset, h.asset) as asset,
            b.locked, h.held
          from balances b full join holds h on h.account_id = b.account_id and h.asset = b.asset
          where (:accountId::uuid is null or coalesce(b.account_id, h.account_id) = :accountId::uuid)
            and coalesce(b.locked, 0) <> coalesce(h.held, 0)`,
  },
  {
    check: "an order's hold differs from its lock entries",
    query: `with entries as (
            select order_id, sum(amount) as held from ledger_entries
            where order_id is not null and book = 'customer' and bucket = 'locked' group by order_id)
          select o.id as order_id, o.status, o.locked_amount, coalesce(e.held, 0) as ledger_held
          from orders o left join entries e on e.order_id = o.id
          where (:accountId::uuid is null or o.account_id = :accountId::uuid) and o.locked_amount <> coalesce(e.held, 0)`,
  },
  {
    check: 'available + locked differs from deposits - withdrawals + credits - debits - fees',
    query: `with flows as (
            select account_id, asset,
              coalesce(sum(amount) filter (where kind in ('DEPOSIT', 'WITHDRAWAL', 'FILL_CREDIT', 'FILL_DEBIT', 'FEE')), 0) as net
            from ledger_entries where book = 'customer' group by account_id, asset)
          select b.account_id, b.asset, b.available + b.locked as total, coalesce(f.net, 0) as flows
          from balances b left join flows f on f.account_id = b.account_id and f.asset = b.asset
          where (:accountId::uuid is null or b.account_id = :accountId::uuid) and b.available + b.locked <> coalesce(f.net, 0)`,
  },
  {
    check: 'ledger transaction does not balance',
    query: `select t.id as transaction_id, e.asset, sum(e.amount) as total
          from ledger_transactions t join ledger_entries e on e.transaction_id = t.id
          where (:accountId::uuid is null or t.account_id = :accountId::uuid)
          group by t.id, e.asset having sum(e.amount) <> 0`,
  },
  {
    check: 'order quantities are inconsistent',
    query: `with fills as (select order_id, sum(quantity) as qty from order_fills group by order_id)
          select o.id as order_id, o.status, o.quantity, o.filled_quantity, o.leaves_quantity, coalesce(f.qty, 0) as fills
          from orders o left join fills f on f.order_id = o.id
          where (:accountId::uuid is null or o.account_id = :accountId::uuid)
            and (o.filled_quantity <> coalesce(f.qty, 0)
              or (o.status in ('REJECTED', 'FILLED', 'CANCELLED', 'EXPIRED') and o.leaves_quantity <> 0)
              or (o.status not in ('REJECTED', 'FILLED', 'CANCELLED', 'EXPIRED') and o.quantity <> o.filled_quantity + o.leaves_quantity))`,
  },
];

/** Runs every check, for one account or (accountId null) for all. */
/** A named set query whose every row is a violation (`:accountId` narrows it, null: all). */
export interface ReconciliationCheck {
  check: string;
  query: string;
}

/** Runs checks and collects their rows as violations. */
export async function runChecks(em: EntityManager, checks: readonly ReconciliationCheck[], params: SqlParams): Promise<Violation[]> {
  const violations: Violation[] = [];
  for (const { check, query } of checks) {
    const rows = await sql(em, query, params);
    for (const detail of rows) violations.push({ check, detail });
  }
  return violations;
}

export async function reconcile(em: EntityManager, accountId: string | null = null): Promise<Violation[]> {
  return runChecks(em, CHECKS, { accountId });
}
