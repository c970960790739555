/**
 * Accounts, API keys, balances and the ledger view (the rows; the movements that
 * change them are units of work in activities/accounts.ts). API keys are random
 * 256-bit secrets shown once and stored as SHA-256 hashes.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { str } from '../domain/decimal';
import { Account, Asset, Balance, LedgerEntry, LedgerTransaction } from './entities';

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

/** Inserts a new account with the hash of its API key. */
export async function insertAccount(em: EntityManager, account: { id: string; name: string; apiKey: string }): Promise<void> {
  em.create(Account, { id: account.id, name: account.name, apiKeyHash: hashApiKey(account.apiKey), status: 'ACTIVE', createdAt: new Date() });
  await em.flush();
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
