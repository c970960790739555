/**
 * Accounts (migration 001) and their API keys (migration account_keys). An account's
 * balances and ledger entries are the ledger's (persistence/ledger); its orders are
 * the order read model's.
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const ACCOUNT_STATUSES = ['ACTIVE', 'SUSPENDED', 'CLOSED'] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

export const Account = defineEntity({
  name: 'Account',
  tableName: 'accounts',
  properties: {
    id: p.uuid().primary(),
    name: p.text(),
    status: p.enum([...ACCOUNT_STATUSES]),
    createdAt: p.datetime().defaultRaw('now()'),
  },
});
export type Account = InferEntity<typeof Account>;

/**
 * One API key of an account, stored as its SHA-256 hash. A key works until it is
 * revoked or its expiry (set when a newer key replaced it, after a grace period) passes.
 */
export const AccountApiKey = defineEntity({
  name: 'AccountApiKey',
  tableName: 'account_api_keys',
  properties: {
    id: p.uuid().primary(),
    account: () => p.manyToOne(Account).ref(),
    keyHash: p.text().hidden(),
    createdAt: p.datetime().defaultRaw('now()'),
    expiresAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
  },
});
export type AccountApiKey = InferEntity<typeof AccountApiKey>;

export const accountEntities = [Account, AccountApiKey];
