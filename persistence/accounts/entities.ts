/**
 * Accounts (migration 001). An account's balances and ledger entries are the
 * ledger's (persistence/ledger); its orders are the order read model's.
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const ACCOUNT_STATUSES = ['ACTIVE', 'SUSPENDED'] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

export const Account = defineEntity({
  name: 'Account',
  tableName: 'accounts',
  properties: {
    id: p.uuid().primary(),
    name: p.text(),
    apiKeyHash: p.text().hidden(),
    status: p.enum([...ACCOUNT_STATUSES]),
    createdAt: p.datetime().defaultRaw('now()'),
  },
});
export type Account = InferEntity<typeof Account>;

export const accountEntities = [Account];
