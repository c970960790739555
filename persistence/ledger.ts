/**
 * The double-entry ledger: the only code that moves money. Each call posts one
 * ledger transaction (immutable entries that sum to zero per asset) and applies it
 * to the balance projection in the caller's database transaction.
 *
 * - Idempotent: a transaction has an idempotency key; posting the same key again
 *   changes nothing (and a different payload under the same key is refused).
 * - Never overdraws, under any concurrency: each balance row is updated with a
 *   guard (`available + delta >= 0`), so of N concurrent locks only those the balance
 *   covers succeed. CHECK constraints and a commit-time trigger back this up.
 */
import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Decimal, dec, str, ZERO } from '../domain/decimal';
import { type Posting, unbalancedAssets } from '../domain/funds';

export class InsufficientFundsError extends Error {
  constructor(
    readonly accountId: string,
    readonly asset: string,
    readonly bucket: 'available' | 'locked',
    readonly required: string,
    readonly held: string,
  ) {
    super(`insufficient ${asset}: ${required} needed, ${held} ${bucket}`);
    this.name = 'InsufficientFundsError';
  }
}

export class IdempotencyConflictError extends Error {
  constructor(readonly idempotencyKey: string) {
    super(`idempotency key ${idempotencyKey} was already used for a different request`);
    this.name = 'IdempotencyConflictError';
  }
}

export interface LedgerTransactionInput {
  idempotencyKey: string;
  kind: string;
  accountId: string;
  orderId: string | null;
  reference: string;
  /** What makes a retry "the same request"; compared when the key exists. */
  fingerprint: string;
  postings: Posting[];
}

export interface PostedTransaction {
  id: string;
  created: boolean;
}

/**
 * The content of a movement, as a fingerprint: what a retry under the same
 * idempotency key must match (the key says which movement; this says what it moves).
 */
export function postingsFingerprint(kind: string, postings: Posting[]): string {
  const lines = postings.map((p) => [p.book, p.accountId ?? '', p.asset, p.bucket ?? '', str(p.amount), p.kind].join('|')).sort();
  return `${kind}:${createHash('sha256').update(lines.join('\n')).digest('hex')}`;
}

/** Posts a ledger transaction. `em` must be inside em.transactional(). */
export async function postLedgerTransaction(em: EntityManager, input: LedgerTransactionInput): Promise<PostedTransaction> {
  const unbalanced = unbalancedAssets(input.postings);
  if (unbalanced.length > 0) throw new Error(`ledger transaction ${input.idempotencyKey} does not balance in ${unbalanced.join(', ')}`);
  if (input.postings.length === 0) throw new Error(`ledger transaction ${input.idempotencyKey} has no postings`);

  const inserted = await em.execute<{ id: string }[]>(
    `insert into ledger_transactions (idempotency_key, kind, account_id, order_id, reference, fingerprint)
     values (?, ?, ?, ?, ?, ?) on conflict (idempotency_key) do nothing returning id`,
    [input.idempotencyKey, input.kind, input.accountId, input.orderId, input.reference, input.fingerprint],
  );
  if (inserted.length === 0) {
    const [existing] = await em.execute<{ id: string; fingerprint: string }[]>(
      'select id, fingerprint from ledger_transactions where idempotency_key = ?',
      [input.idempotencyKey],
    );
    if (existing.fingerprint !== input.fingerprint) throw new IdempotencyConflictError(input.idempotencyKey);
    return { id: String(existing.id), created: false };
  }
  const transactionId = String(inserted[0].id);

  await applyToBalances(em, input.postings);

  const values: unknown[] = [];
  for (const p of input.postings) {
    values.push(transactionId, p.book, p.accountId, p.asset, p.bucket, p.amount, p.kind, input.orderId);
  }
  await em.execute(
    `insert into ledger_entries (transaction_id, book, account_id, asset, bucket, amount, kind, order_id) values ${input.postings
      .map(() => '(?, ?, ?, ?, ?, ?, ?, ?)')
      .join(', ')}`,
    values,
  );
  return { id: transactionId, created: true };
}

/**
 * Applies customer postings to balances, one guarded UPDATE per (account, asset),
 * in a fixed order so concurrent transactions never deadlock on each other's rows.
 */
async function applyToBalances(em: EntityManager, postings: Posting[]): Promise<void> {
  const deltas = new Map<string, { accountId: string; asset: string; available: Decimal; locked: Decimal }>();
  for (const p of postings) {
    if (p.book !== 'customer' || !p.accountId || !p.bucket) continue;
    const key = `${p.accountId}|${p.asset}`;
    const d = deltas.get(key) ?? { accountId: p.accountId, asset: p.asset, available: ZERO, locked: ZERO };
    d[p.bucket] = d[p.bucket].plus(dec(p.amount));
    deltas.set(key, d);
  }
  for (const key of [...deltas.keys()].sort()) {
    const d = deltas.get(key)!;
    if (!d.available.isNegative() || !d.locked.isNegative()) {
      await em.execute('insert into balances (account_id, asset) values (?, ?) on conflict do nothing', [d.accountId, d.asset]);
    }
    const available = str(d.available);
    const locked = str(d.locked);
    const updated = await em.execute<unknown[]>(
      `update balances set available = available + ?::numeric, locked = locked + ?::numeric, updated_at = now()
       where account_id = ? and asset = ? and available + ?::numeric >= 0 and locked + ?::numeric >= 0
       returning account_id`,
      [available, locked, d.accountId, d.asset, available, locked],
    );
    if (updated.length === 0) {
      const [current] = await em.execute<{ available: string; locked: string }[]>(
        'select available, locked from balances where account_id = ? and asset = ?',
        [d.accountId, d.asset],
      );
      const held = { available: dec(current?.available ?? 0), locked: dec(current?.locked ?? 0) };
      const bucket = held.available.plus(d.available).isNegative() ? 'available' : 'locked';
      throw new InsufficientFundsError(d.accountId, d.asset, bucket, str(d[bucket].neg()), str(held[bucket]));
    }
  }
}
