/**
 * The one unit of work every order change goes through: the order's new version in
 * the read model, its ledger transaction, its fill and transition rows, and its
 * events in the outbox, committed in ONE PostgreSQL transaction, or not at all. The
 * workflow only advances its own state after this succeeded, so the read model, the
 * ledger, the events and the workflow never disagree.
 *
 * Idempotent by (order id, version): a retried activity finds its version already
 * committed and changes nothing.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { orderChangeEvents } from '../../events/order-events';
import { appendEvents } from '../../events/outbox';
import { postLedgerTransaction, postingsFingerprint } from '../../persistence/ledger/repository';
import { canonicalOrder, insertOrderFill, insertOrderTransition, saveOrderVersion } from '../../persistence/orders/repository';
import { findInstrument } from '../../persistence/reference/repository';
import { UNKNOWN_CAUSE, type OrderCommit } from '../../workflows/order/definitions';

/** The idempotency key of an order's version: its ledger transaction's and its events' key. */
export function orderVersionKey(orderId: string, version: number): string {
  return `order:${orderId}:v${version}`;
}

/**
 * Commits one order change. Returns false when this version was committed before
 * (a retry), true when it was applied now. Throws InsufficientFundsError (nothing
 * committed) when the ledger cannot cover the postings.
 */
export async function commitOrderChange(em: EntityManager, commit: OrderCommit): Promise<boolean> {
  return em.transactional((tx) => applyOrderChange(tx, commit));
}

/**
 * Commits consecutive versions of one order in ONE transaction (an order's creation
 * and its lock, or its creation and rejection): all of them or none. Each version is
 * idempotent as in commitOrderChange, so a retry changes nothing.
 */
export async function commitOrderChanges(em: EntityManager, commits: OrderCommit[]): Promise<void> {
  await em.transactional(async (tx) => {
    for (const commit of commits) await applyOrderChange(tx, commit);
  });
}

async function applyOrderChange(tx: EntityManager, commit: OrderCommit): Promise<boolean> {
  const { order } = commit;
  if (!(await saveOrderVersion(tx, order, commit.workflowId))) return false;
  const key = orderVersionKey(order.orderId, order.version);

  if (commit.postings.length > 0) {
    await postLedgerTransaction(tx, {
      idempotencyKey: key,
      kind: commit.ledgerKind ?? 'ORDER',
      accountId: order.accountId,
      orderId: order.orderId,
      reference: commit.fill ? `trade:${commit.fill.tradeId}` : `order:${order.orderId}`,
      fingerprint: postingsFingerprint(commit.ledgerKind ?? 'ORDER', commit.postings),
      postings: commit.postings,
    });
  }
  if (commit.fill) await insertOrderFill(tx, order.orderId, order.version, commit.fill);
  if (commit.transition) await insertOrderTransition(tx, order.orderId, order.version, commit.transition, order.updatedAt);

  // The change's events, in the same transaction (the outbox), with the order as a
  // reader of the read model sees it (what was just written; a fill event carries
  // its own fill, not the order's list).
  const snapshot = canonicalOrder(order);
  const instrument = commit.fill ? await findInstrument(tx, order.symbol) : null;
  const drafts = orderChangeEvents({ order: snapshot, transition: commit.transition, postings: commit.postings, fill: commit.fill, instrument }, key);
  // saveOrderVersion above proved this version new: no lookup for earlier events.
  await appendEvents(tx, key, drafts, commit.context ?? UNKNOWN_CAUSE, { fresh: true });
  return true;
}
