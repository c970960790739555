/**
 * Accounts and their API keys (the movements that change an account's balances are
 * units of work in activities/accounts.ts). API keys are random 256-bit secrets shown
 * once and stored as SHA-256 hashes.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { balancesOf, type BalanceView } from '../ledger/repository';
import { Account, type AccountStatus } from './entities';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function newApiKey(): string {
  return `oms_${randomBytes(32).toString('base64url')}`;
}

export interface AccountView {
  id: string;
  name: string;
  status: AccountStatus;
  createdAt: string;
  balances: BalanceView[];
}

/** Inserts a new account with the hash of its API key. */
export async function insertAccount(em: EntityManager, account: { id: string; name: string; apiKey: string }): Promise<void> {
  await em.insert(Account, { id: account.id, name: account.name, apiKeyHash: hashApiKey(account.apiKey), status: 'ACTIVE' });
}

export async function findAccount(em: EntityManager, accountId: string): Promise<Account | null> {
  return em.findOne(Account, { id: accountId });
}

export async function accountExists(em: EntityManager, accountId: string): Promise<boolean> {
  return (await em.count(Account, { id: accountId })) > 0;
}

export async function findAccountByKey(em: EntityManager, apiKey: string): Promise<Account | null> {
  return em.findOne(Account, { apiKeyHash: hashApiKey(apiKey) });
}

export async function getAccountView(em: EntityManager, accountId: string): Promise<AccountView | null> {
  const account = await em.findOne(Account, { id: accountId }, { disableIdentityMap: true });
  if (!account) return null;
  return {
    id: account.id,
    name: account.name,
    status: account.status,
    createdAt: account.createdAt.toISOString(),
    balances: await balancesOf(em, accountId),
  };
}
