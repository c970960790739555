/**
 * MikroORM entities over the tables the migrations create (no schema sync: the
 * migrations are the source of truth for DDL, these map rows for reads and writes).
 * Decimals map to strings; the domain turns them into exact Decimals.
 */
import { defineEntity, type InferEntity } from '@mikro-orm/core';

export const Asset = defineEntity({
  name: 'Asset',
  tableName: 'assets',
  properties: (p) => ({
    code: p.text().primary(),
    scale: p.smallint(),
  }),
});
export type Asset = InferEntity<typeof Asset>;

export const Instrument = defineEntity({
  name: 'Instrument',
  tableName: 'instruments',
  properties: (p) => ({
    symbol: p.text().primary(),
    baseAsset: p.text(),
    quoteAsset: p.text(),
    tickSize: p.decimal(),
    lotSize: p.decimal(),
    minQuantity: p.decimal(),
    feeRate: p.decimal(),
    active: p.boolean(),
  }),
});
export type Instrument = InferEntity<typeof Instrument>;

export const Account = defineEntity({
  name: 'Account',
  tableName: 'accounts',
  properties: (p) => ({
    id: p.uuid().primary(),
    name: p.text(),
    apiKeyHash: p.text().hidden(),
    status: p.enum(['ACTIVE', 'SUSPENDED']),
    createdAt: p.datetime().onCreate(() => new Date()),
  }),
});
export type Account = InferEntity<typeof Account>;

export const Balance = defineEntity({
  name: 'Balance',
  tableName: 'balances',
  properties: (p) => ({
    accountId: p.uuid().primary(),
    asset: p.text().primary(),
    available: p.decimal(),
    locked: p.decimal(),
    updatedAt: p.datetime(),
  }),
});
export type Balance = InferEntity<typeof Balance>;

export const LedgerTransaction = defineEntity({
  name: 'LedgerTransaction',
  tableName: 'ledger_transactions',
  properties: (p) => ({
    id: p.bigint('string').primary(),
    idempotencyKey: p.text(),
    kind: p.text(),
    accountId: p.uuid(),
    orderId: p.uuid().nullable(),
    reference: p.text(),
    fingerprint: p.text(),
    createdAt: p.datetime(),
  }),
});
export type LedgerTransaction = InferEntity<typeof LedgerTransaction>;

export const LedgerEntry = defineEntity({
  name: 'LedgerEntry',
  tableName: 'ledger_entries',
  properties: (p) => ({
    id: p.bigint('string').primary(),
    transactionId: p.bigint('string'),
    book: p.text(),
    accountId: p.uuid().nullable(),
    asset: p.text(),
    bucket: p.text().nullable(),
    amount: p.decimal(),
    kind: p.text(),
    orderId: p.uuid().nullable(),
    createdAt: p.datetime(),
  }),
});
export type LedgerEntry = InferEntity<typeof LedgerEntry>;

export const Order = defineEntity({
  name: 'Order',
  tableName: 'orders',
  properties: (p) => ({
    id: p.uuid().primary(),
    clientOrderId: p.text(),
    accountId: p.uuid(),
    symbol: p.text(),
    side: p.text(),
    type: p.text(),
    quantity: p.decimal(),
    limitPrice: p.decimal().nullable(),
    timeInForce: p.text(),
    expireAt: p.datetime().nullable(),
    status: p.text(),
    filledQuantity: p.decimal(),
    leavesQuantity: p.decimal(),
    averageFillPrice: p.decimal().nullable(),
    notional: p.decimal(),
    fees: p.decimal(),
    feeAsset: p.text().nullable(),
    lockedAsset: p.text().nullable(),
    lockedAmount: p.decimal(),
    rejectReason: p.text().nullable(),
    cancelReason: p.text().nullable(),
    workflowId: p.text(),
    version: p.integer(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  }),
});
export type Order = InferEntity<typeof Order>;

export const OrderFill = defineEntity({
  name: 'OrderFill',
  tableName: 'order_fills',
  properties: (p) => ({
    tradeId: p.text().primary(),
    orderId: p.uuid(),
    quantity: p.decimal(),
    price: p.decimal(),
    fee: p.decimal(),
    feeAsset: p.text(),
    executedAt: p.datetime(),
    orderVersion: p.integer(),
  }),
});
export type OrderFill = InferEntity<typeof OrderFill>;

export const OrderTransition = defineEntity({
  name: 'OrderTransition',
  tableName: 'order_transitions',
  properties: (p) => ({
    orderId: p.uuid().primary(),
    version: p.integer().primary(),
    fromStatus: p.text().nullable(),
    toStatus: p.text(),
    reason: p.text().nullable(),
    at: p.datetime(),
  }),
});
export type OrderTransition = InferEntity<typeof OrderTransition>;

export const VenueTick = defineEntity({
  name: 'VenueTick',
  tableName: 'venue_ticks',
  properties: (p) => ({
    symbol: p.text().primary(),
    price: p.decimal(),
    liquidityRemaining: p.decimal().nullable(),
    seq: p.bigint('string'),
    updatedAt: p.datetime(),
  }),
});
export type VenueTick = InferEntity<typeof VenueTick>;

export const VenueOrder = defineEntity({
  name: 'VenueOrder',
  tableName: 'venue_orders',
  properties: (p) => ({
    orderId: p.uuid().primary(),
    priority: p.bigint('string'),
    symbol: p.text(),
    side: p.text(),
    type: p.text(),
    timeInForce: p.text(),
    quantity: p.decimal(),
    limitPrice: p.decimal().nullable(),
    protectionPrice: p.decimal().nullable(),
    remaining: p.decimal(),
    status: p.text(),
    submitStatus: p.text(),
    rejectReason: p.text().nullable(),
    submittedAt: p.datetime(),
    closedAt: p.datetime().nullable(),
  }),
});
export type VenueOrder = InferEntity<typeof VenueOrder>;

export const VenueFill = defineEntity({
  name: 'VenueFill',
  tableName: 'venue_fills',
  properties: (p) => ({
    tradeId: p.uuid().primary(),
    seq: p.bigint('string'),
    orderId: p.uuid(),
    quantity: p.decimal(),
    price: p.decimal(),
    executedAt: p.datetime(),
    atSubmission: p.boolean(),
    delivery: p.text(),
    deliveryAttempts: p.integer(),
    lastError: p.text().nullable(),
    nextAttemptAt: p.datetime(),
    deliveredAt: p.datetime().nullable(),
  }),
});
export type VenueFill = InferEntity<typeof VenueFill>;

export const coreEntities = [
  Asset,
  Instrument,
  Account,
  Balance,
  LedgerTransaction,
  LedgerEntry,
  Order,
  OrderFill,
  OrderTransition,
  VenueTick,
  VenueOrder,
  VenueFill,
];
