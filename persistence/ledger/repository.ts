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
 *
 * The guarded update is the one raw statement here: it must add to the row and check
 * the result in the same statement (a read, then a write, would race).
 */
import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Decimal, dec, str, ZERO } from '../../domain/decimal';
import { type Bucket, type Posting, unbalancedAssets } from '../../domain/funds';
import { sql } from '../sql';
import { Balance, LedgerEntry, LedgerTransaction } from './entities';

export class InsufficientFundsError extends Error {
  constructor(
    readonly accountId: string,
    readonly asset: string,
    readonly bucket: Bucket,
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

  const inserted = await em
    .createQueryBuilder(LedgerTransaction)
    .insert({
      idempotencyKey: input.idempotencyKey,
      kind: input.kind,
      account: input.accountId,
      orderId: input.orderId,
      reference: input.reference,
      fingerprint: input.fingerprint,
    })
    .onConflict('idempotencyKey')
    .ignore()
    .execute('run');
  if (inserted.affectedRows === 0) {
    const existing = await em.findOneOrFail(LedgerTransaction, { idempotencyKey: input.idempotencyKey }, { fields: ['id', 'fingerprint'] });
    if (existing.fingerprint !== input.fingerprint) throw new IdempotencyConflictError(input.idempotencyKey);
    return { id: String(existing.id), created: false };
  }
  const transactionId = String(inserted.insertId);

  await applyToBalances(em, input.postings);

  await em.insertMany(
    LedgerEntry,
    input.postings.map((p) => ({
      transaction: transactionId,
      book: p.book,
      account: p.accountId,
      asset: p.asset,
      bucket: p.bucket,
      amount: p.amount,
      kind: p.kind,
      orderId: input.orderId,
    })),
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
    const apply = () =>
      sql(
        em,
        `update balances set available = available + :available::numeric, locked = locked + :locked::numeric, updated_at = now()
         where account_id = :accountId and asset = :asset and available + :available::numeric >= 0 and locked + :locked::numeric >= 0
         returning account_id`,
        { available: str(d.available), locked: str(d.locked), accountId: d.accountId, asset: d.asset },
      );
    let updated = await apply();
    if (updated.length === 0 && (!d.available.isNegative() || !d.locked.isNegative())) {
      // A credit may be the first the account holds of the asset: the row starts at zero.
      await em.createQueryBuilder(Balance).insert({ account: d.accountId, asset: d.asset }).onConflict().ignore().execute('run');
      updated = await apply();
    }
    if (updated.length === 0) {
      const current = await em.findOne(Balance, { account: d.accountId, asset: d.asset }, { disableIdentityMap: true });
      const held = { available: dec(current?.available ?? 0), locked: dec(current?.locked ?? 0) };
      const bucket = held.available.plus(d.available).isNegative() ? 'available' : 'locked';
      throw new InsufficientFundsError(d.accountId, d.asset, bucket, str(d[bucket].neg()), str(held[bucket]));
    }
  }
}

export interface BalanceView {
  asset: string;
  available: string;
  locked: string;
}

/** An account's balances, by asset. */
export async function balancesOf(em: EntityManager, accountId: string): Promise<BalanceView[]> {
  const balances = await em.find(Balance, { account: accountId }, { orderBy: { asset: 'asc' }, disableIdentityMap: true });
  return balances.map((b) => ({ asset: b.asset.code, available: str(b.available), locked: str(b.locked) }));
}

export interface LedgerEntryView {
  id: string;
  transactionId: string;
  transactionKind: string;
  reference: string;
  orderId: string | null;
  asset: string;
  bucket: string;
  amount: string;
  kind: string;
  at: string;
}

/** The account's own ledger entries (customer book), newest first, with their transactions. */
export async function ledgerEntries(em: EntityManager, accountId: string, limit: number, beforeId?: string): Promise<LedgerEntryView[]> {
  const entries = await em.find(
    LedgerEntry,
    { account: accountId, book: 'customer', ...(beforeId ? { id: { $lt: beforeId } } : {}) },
    { populate: ['transaction'], orderBy: { id: 'desc' }, limit, disableIdentityMap: true },
  );
  return entries.map((e) => {
    const t = e.transaction.getEntity();
    return {
      id: String(e.id),
      transactionId: String(t.id),
      transactionKind: t.kind,
      reference: t.reference,
      orderId: e.orderId ?? null,
      asset: e.asset.code,
      bucket: e.bucket ?? '',
      amount: str(e.amount),
      kind: e.kind,
      at: new Date(e.createdAt).toISOString(),
    };
  });
}
