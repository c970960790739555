/**
 * Accounts, API keys, deposits and withdrawals, balances and the ledger view.
 * API keys are random 256-bit secrets shown once and stored as SHA-256 hashes.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { str } from '../domain/decimal';
import { depositPostings, withdrawalPostings } from '../domain/funds';
import { appendEvents, draft, type EventContext } from '../events/outbox';
import { Account, Asset, Balance, LedgerEntry, LedgerTransaction } from './entities';
import { postLedgerTransaction } from './ledger';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function newApiKey(): string {
  return `oms_${randomBytes(32).toString('base64url')}`;
}

export interface AccountView {
  id: string;
  name: string;
  status: string;
  createdAt: string;
  balances: { asset: string; available: string; locked: string }[];
}

export async function createAccount(em: EntityManager, name: string, ctx: EventContext): Promise<{ id: string; name: string; apiKey: string }> {
  const apiKey = newApiKey();
  const id = randomUUID();
  await em.transactional(async (tx) => {
    tx.create(Account, { id, name, apiKeyHash: hashApiKey(apiKey), status: 'ACTIVE', createdAt: new Date() });
    await tx.flush();
    await appendEvents(tx, `account:${id}:created`, [draft('account.created', { accountId: id, name })], ctx);
  });
  return { id, name, apiKey };
}

export async function findAccountByKey(em: EntityManager, apiKey: string): Promise<Account | null> {
  return em.findOne(Account, { apiKeyHash: hashApiKey(apiKey) });
}

export async function getAccountView(em: EntityManager, accountId: string): Promise<AccountView | null> {
  const account = await em.findOne(Account, { id: accountId });
  if (!account) return null;
  const balances = await em.find(Balance, { accountId }, { orderBy: { asset: 'asc' } });
  return {
    id: account.id,
    name: account.name,
    status: account.status,
    createdAt: account.createdAt.toISOString(),
    balances: balances.map((b) => ({ asset: b.asset, available: str(b.available), locked: str(b.locked) })),
  };
}

export async function findAsset(em: EntityManager, code: string): Promise<Asset | null> {
  return em.findOne(Asset, { code });
}

export interface FundsMovement {
  accountId: string;
  asset: string;
  amount: string;
  reference: string;
}

export interface FundsMovementResult {
  transactionId: string;
  /** False when the reference was seen before (nothing changed). */
  created: boolean;
}

function fingerprint(kind: string, m: FundsMovement): string {
  return [kind, m.accountId, m.asset, str(m.amount)].join('|');
}

/** A deposit; the same reference again adds nothing. */
export async function deposit(em: EntityManager, m: FundsMovement, ctx: EventContext): Promise<FundsMovementResult> {
  return em.transactional(async (tx) => {
    const key = `deposit:${m.accountId}:${m.reference}`;
    const posted = await postLedgerTransaction(tx, {
      idempotencyKey: key,
      kind: 'DEPOSIT',
      accountId: m.accountId,
      orderId: null,
      reference: m.reference,
      fingerprint: fingerprint('DEPOSIT', m),
      postings: depositPostings(m.accountId, m.asset, m.amount),
    });
    if (posted.created) {
      const data = { accountId: m.accountId, asset: m.asset, amount: str(m.amount), reference: m.reference, transactionId: posted.id };
      await appendEvents(tx, key, [draft('funds.deposited', data)], ctx);
    }
    return { transactionId: posted.id, created: posted.created };
  });
}

/** A withdrawal from what is available; InsufficientFundsError when it is not covered. */
export async function withdraw(em: EntityManager, m: FundsMovement, ctx: EventContext): Promise<FundsMovementResult> {
  return em.transactional(async (tx) => {
    const key = `withdrawal:${m.accountId}:${m.reference}`;
    const posted = await postLedgerTransaction(tx, {
      idempotencyKey: key,
      kind: 'WITHDRAWAL',
      accountId: m.accountId,
      orderId: null,
      reference: m.reference,
      fingerprint: fingerprint('WITHDRAWAL', m),
      postings: withdrawalPostings(m.accountId, m.asset, m.amount),
    });
    if (posted.created) {
      const data = { accountId: m.accountId, asset: m.asset, amount: str(m.amount), reference: m.reference, transactionId: posted.id };
      await appendEvents(tx, key, [draft('funds.withdrawn', data)], ctx);
    }
    return { transactionId: posted.id, created: posted.created };
  });
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

/** The account's own ledger entries (customer book), newest first. */
export async function ledgerEntries(em: EntityManager, accountId: string, limit: number, beforeId?: string): Promise<LedgerEntryView[]> {
  const entries = await em.find(
    LedgerEntry,
    { accountId, book: 'customer', ...(beforeId ? { id: { $lt: beforeId } } : {}) },
    { orderBy: { id: 'desc' }, limit },
  );
  const txIds = [...new Set(entries.map((e) => e.transactionId))];
  const txs = txIds.length ? await em.find(LedgerTransaction, { id: { $in: txIds } }) : [];
  const byId = new Map(txs.map((t) => [String(t.id), t]));
  return entries.map((e) => {
    const t = byId.get(String(e.transactionId));
    return {
      id: String(e.id),
      transactionId: String(e.transactionId),
      transactionKind: t?.kind ?? 'UNKNOWN',
      reference: t?.reference ?? '',
      orderId: e.orderId ?? null,
      asset: e.asset,
      bucket: e.bucket ?? '',
      amount: str(e.amount),
      kind: e.kind,
      at: new Date(e.createdAt).toISOString(),
    };
  });
}
