/**
 * Accounts and their API keys (the movements that change an account's balances are
 * units of work in activities/accounts.ts). API keys are random 256-bit secrets shown
 * once and stored as SHA-256 hashes; an account may hold several while one replaces
 * another (rotation with a grace period), and any may be revoked.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { balancesOf, type BalanceView } from '../ledger/repository';
import { Account, AccountApiKey, type AccountStatus } from './entities';

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
  await em.insert(Account, { id: account.id, name: account.name, status: 'ACTIVE' });
  await em.insert(AccountApiKey, { id: randomUUID(), account: account.id, keyHash: hashApiKey(account.apiKey) });
}

export async function findAccount(em: EntityManager, accountId: string): Promise<Account | null> {
  return em.findOne(Account, { id: accountId });
}

export async function accountExists(em: EntityManager, accountId: string): Promise<boolean> {
  return (await em.count(Account, { id: accountId })) > 0;
}

/** The account whose key this is, while the key is neither revoked nor expired. */
export async function findAccountByKey(em: EntityManager, apiKey: string): Promise<Account | null> {
  const key = await em.findOne(
    AccountApiKey,
    { keyHash: hashApiKey(apiKey), revokedAt: null, $or: [{ expiresAt: null }, { expiresAt: { $gt: new Date() } }] },
    { populate: ['account'], disableIdentityMap: true },
  );
  return key ? key.account.getEntity() : null;
}

export interface ApiKeyView {
  id: string;
  createdAt: string;
  /** When it stops working (set when a newer key replaced it); null: no end. */
  expiresAt: string | null;
  revokedAt: string | null;
  active: boolean;
}

function apiKeyView(k: AccountApiKey, now: Date): ApiKeyView {
  return {
    id: k.id,
    createdAt: k.createdAt.toISOString(),
    expiresAt: k.expiresAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
    active: !k.revokedAt && (!k.expiresAt || k.expiresAt > now),
  };
}

/** The account's keys, newest first, without their hashes. */
export async function listApiKeys(em: EntityManager, accountId: string): Promise<ApiKeyView[]> {
  const keys = await em.find(AccountApiKey, { account: accountId }, { orderBy: { createdAt: 'desc', id: 'asc' }, disableIdentityMap: true });
  const now = new Date();
  return keys.map((k) => apiKeyView(k, now));
}

/**
 * Issues a new key; every other key of the account that still works keeps working
 * until `graceSeconds` from now (an earlier expiry stays). The new key is returned once.
 */
export async function rotateApiKey(em: EntityManager, accountId: string, graceSeconds: number): Promise<{ key: ApiKeyView; apiKey: string; previousKeysExpireAt: string }> {
  const apiKey = newApiKey();
  const id = randomUUID();
  const expiresAt = new Date(Date.now() + graceSeconds * 1000);
  await em.transactional(async (tx) => {
    await tx.nativeUpdate(AccountApiKey, { account: accountId, revokedAt: null, $or: [{ expiresAt: null }, { expiresAt: { $gt: expiresAt } }] }, { expiresAt });
    await tx.insert(AccountApiKey, { id, account: accountId, keyHash: hashApiKey(apiKey) });
  });
  const key = await em.findOneOrFail(AccountApiKey, { id }, { disableIdentityMap: true });
  return { key: apiKeyView(key, new Date()), apiKey, previousKeysExpireAt: expiresAt.toISOString() };
}

/** Revokes one key of the account at once; false when the account has no such key still working. */
export async function revokeApiKey(em: EntityManager, accountId: string, keyId: string): Promise<boolean> {
  return (await em.nativeUpdate(AccountApiKey, { id: keyId, account: accountId, revokedAt: null }, { revokedAt: new Date() })) > 0;
}

/** Sets an account's status (ACTIVE, SUSPENDED, CLOSED); false when there is no such account. */
export async function setAccountStatus(em: EntityManager, accountId: string, status: AccountStatus): Promise<boolean> {
  return (await em.nativeUpdate(Account, { id: accountId }, { status })) > 0;
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
