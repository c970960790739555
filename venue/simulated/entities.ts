/**
 * The simulated venue's own tables (its migrations, ./migrations): the last tick per
 * symbol, the book of orders it was sent, the fills it made with their delivery
 * state, and the rules an operator set per symbol. The core schema knows none of
 * them; the order path only sees ExchangeAdapter.
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { ORDER_SIDES, ORDER_TYPES, TIME_IN_FORCE } from '../../domain/order';
import { VENUE_ORDER_STATUSES } from '../../domain/venue';
import { exactDecimal } from '../../persistence/columns';

export const FILL_DELIVERIES = ['PENDING', 'DELIVERED', 'REFUSED'] as const;
export type FillDelivery = (typeof FILL_DELIVERIES)[number];

export const VenueTick = defineEntity({
  name: 'VenueTick',
  tableName: 'venue_ticks',
  properties: {
    symbol: p.text().primary(),
    price: exactDecimal(),
    /** What the tick has left to fill; null: unlimited. */
    liquidityRemaining: exactDecimal().nullable(),
    seq: p.bigint('string'),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
});
export type VenueTick = InferEntity<typeof VenueTick>;

export const VenueOrder = defineEntity({
  name: 'VenueOrder',
  tableName: 'venue_orders',
  properties: {
    orderId: p.uuid().primary(),
    /** Time priority: the order it arrived in (bigserial). */
    priority: p.bigint('string').defaultRaw(`nextval('venue_orders_priority_seq')`),
    symbol: p.text(),
    side: p.enum([...ORDER_SIDES]),
    type: p.enum([...ORDER_TYPES]),
    timeInForce: p.enum([...TIME_IN_FORCE]),
    quantity: exactDecimal(),
    limitPrice: exactDecimal().nullable(),
    protectionPrice: exactDecimal().nullable(),
    remaining: exactDecimal(),
    status: p.enum([...VENUE_ORDER_STATUSES]),
    /** The status the submission was acknowledged with (status moves on as ticks fill it). */
    submitStatus: p.enum([...VENUE_ORDER_STATUSES]),
    rejectReason: p.text().nullable(),
    submittedAt: p.datetime().defaultRaw('now()'),
    closedAt: p.datetime().nullable(),
    /** Until when a fill dispatcher holds the order's fills (fill-feed.ts). */
    fillLeaseUntil: p.datetime().nullable(),
    fills: () => p.oneToMany(VenueFillRow).mappedBy('order'),
  },
});
export type VenueOrder = InferEntity<typeof VenueOrder>;

/** The VenueFill table's row (the domain's VenueFill is the business value mapped from it). */
export const VenueFillRow = defineEntity({
  name: 'VenueFill',
  tableName: 'venue_fills',
  properties: {
    tradeId: p.uuid().primary(),
    /** Trade order across the venue (bigserial). */
    seq: p.bigint('string').defaultRaw(`nextval('venue_fills_seq_seq')`),
    order: () => p.manyToOne(VenueOrder).ref().joinColumn('order_id'),
    quantity: exactDecimal(),
    price: exactDecimal(),
    executedAt: p.datetime(),
    /** Made when the order was submitted: its acknowledgement carried it, nothing to deliver. */
    atSubmission: p.boolean(),
    delivery: p.enum([...FILL_DELIVERIES]).defaultRaw(`'PENDING'`),
    deliveryAttempts: p.integer().defaultRaw('0'),
    lastError: p.text().nullable(),
    nextAttemptAt: p.datetime().defaultRaw('now()'),
    deliveredAt: p.datetime().nullable(),
    /** Not a column: whether its next attempt is due, by the database's clock (load with populate: ['due']). */
    due: p.boolean().formula((alias) => `${alias}.next_attempt_at <= now()`).lazy(true, false),
    /** The request (tick) that made the fill, for its events' correlation id. */
    correlationId: p.text().nullable(),
  },
});
export type VenueFillRow = InferEntity<typeof VenueFillRow>;

/** What an operator told the venue to do with a symbol's orders (refusals on the real path). */
export const VenueRule = defineEntity({
  name: 'VenueRule',
  tableName: 'venue_rules',
  properties: {
    symbol: p.text().primary(),
    /** Refuse every cancel of a resting order: it is in the matching engine's hands. */
    refuseCancels: p.boolean().defaultRaw('false'),
    /** Reject every submission with this reason; null: take them. */
    rejectSubmissions: p.text().nullable(),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
});
export type VenueRule = InferEntity<typeof VenueRule>;

export const venueEntities = [VenueTick, VenueOrder, VenueFillRow, VenueRule];
