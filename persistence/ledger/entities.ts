/**
 * The double-entry ledger (migration 001): transactions with their immutable entries,
 * and the balance projection they are applied to. Only the ledger's repository writes
 * these tables.
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { BUCKETS, ENTRY_KINDS, LEDGER_BOOKS } from '../../domain/funds';
import { Account } from '../accounts/entities';
import { exactDecimal } from '../columns';
import { Asset } from '../reference/entities';

export const Balance = defineEntity({
  name: 'Balance',
  tableName: 'balances',
  properties: {
    account: () => p.manyToOne(Account).ref().primary(),
    asset: () => p.manyToOne(Asset).ref().primary().joinColumn('asset'),
    available: exactDecimal().defaultRaw('0'),
    locked: exactDecimal().defaultRaw('0'),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
});
export type Balance = InferEntity<typeof Balance>;

export const LedgerTransaction = defineEntity({
  name: 'LedgerTransaction',
  tableName: 'ledger_transactions',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    idempotencyKey: p.text(),
    // DEPOSIT, WITHDRAWAL, or what the order change was (LOCK, FILL, RELEASE...): no check in the table.
    kind: p.text(),
    account: () => p.manyToOne(Account).ref(),
    // No foreign key: deposits and withdrawals have no order.
    orderId: p.uuid().nullable(),
    reference: p.text(),
    fingerprint: p.text(),
    createdAt: p.datetime().defaultRaw('now()'),
    entries: () => p.oneToMany(LedgerEntry).mappedBy('transaction'),
  },
});
export type LedgerTransaction = InferEntity<typeof LedgerTransaction>;

export const LedgerEntry = defineEntity({
  name: 'LedgerEntry',
  tableName: 'ledger_entries',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    transaction: () => p.manyToOne(LedgerTransaction).ref(),
    book: p.enum([...LEDGER_BOOKS]),
    // Customer entries only; system books (external, venue, fees) have no account and no bucket.
    account: () => p.manyToOne(Account).ref().nullable(),
    asset: () => p.manyToOne(Asset).ref().joinColumn('asset'),
    bucket: p.enum([...BUCKETS]).nullable(),
    amount: exactDecimal(),
    kind: p.enum([...ENTRY_KINDS]),
    orderId: p.uuid().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
});
export type LedgerEntry = InferEntity<typeof LedgerEntry>;

export const ledgerEntities = [Balance, LedgerTransaction, LedgerEntry];
