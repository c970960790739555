/**
 * The event catalogue: the envelope every event wears and one schema per event type
 * and version. The publisher validates every event against it before it enters the
 * outbox, and every subscriber validates what it receives; an event that does not
 * match (schema drift) is dead-lettered, never half-applied.
 *
 * Which stream and subject each event goes to is in streams.ts. Events of one
 * aggregate are in one stream, in order, with a gapless `sequence`.
 */
import { z } from 'zod';
import { ORDER_SIDES, ORDER_STATUSES, ORDER_TYPES, TIME_IN_FORCE } from '../domain/order';

export const SOURCE = 'order-service';

const decimal = z.string().regex(/^-?\d+(\.\d+)?$/, 'a decimal string');
const isoTime = z.iso.datetime({ offset: true });

export const AGGREGATE_TYPES = ['order', 'funds', 'trades', 'account'] as const;
export type AggregateType = (typeof AGGREGATE_TYPES)[number];

export const envelopeSchema = z.object({
  eventId: z.uuid(),
  eventType: z.string().regex(/^[a-z]+\.[a-z_]+$/),
  eventVersion: z.number().int().positive(),
  timestamp: isoTime,
  source: z.string().min(1),
  correlationId: z.string().nullable(),
  causationId: z.string().nullable(),
  traceId: z.string().optional(),
  aggregateType: z.enum(AGGREGATE_TYPES),
  aggregateId: z.string().min(1),
  sequence: z.number().int().positive(),
  data: z.unknown(),
});
export type EventEnvelope<T = unknown> = Omit<z.infer<typeof envelopeSchema>, 'data'> & { data: T };

/**
 * The order as an order event carries it (version 2): where it stands after the change,
 * without its list of fills. The event of a fill carries that fill; GET /orders/:id
 * lists them all. So an event's size does not grow with the order's fill count.
 */
export const orderStateSchema = z.object({
  orderId: z.uuid(),
  clientOrderId: z.string(),
  accountId: z.uuid(),
  symbol: z.string(),
  side: z.enum(ORDER_SIDES),
  type: z.enum(ORDER_TYPES),
  quantity: decimal,
  limitPrice: decimal.nullable(),
  timeInForce: z.enum(TIME_IN_FORCE),
  expireAt: isoTime.nullable(),
  status: z.enum(ORDER_STATUSES),
  filledQuantity: decimal,
  leavesQuantity: decimal,
  averageFillPrice: decimal.nullable(),
  notional: decimal,
  fees: decimal,
  feeAsset: z.string().nullable(),
  lockedAsset: z.string().nullable(),
  lockedAmount: decimal,
  rejectReason: z.string().nullable(),
  cancelReason: z.string().nullable(),
  createdAt: isoTime,
  updatedAt: isoTime,
  version: z.number().int().positive(),
});

/** Version 1 of the order events carried every fill of the order, again, in each event. */
const orderSnapshotV1Schema = orderStateSchema.extend({
  fills: z.array(z.object({ tradeId: z.string(), quantity: decimal, price: decimal, fee: decimal, feeAsset: z.string(), at: isoTime })),
});

const fillSchema = z.object({ tradeId: z.string(), quantity: decimal, price: decimal, fee: decimal, feeAsset: z.string(), at: isoTime });
const orderEvent = <E extends z.ZodRawShape = Record<never, never>>(extra?: E) => z.object({ order: orderStateSchema }).extend((extra ?? {}) as E);
const fundsEvent = <E extends z.ZodRawShape>(extra: E) => z.object({ accountId: z.uuid(), asset: z.string(), amount: decimal }).extend(extra);

export const tradeExecutedSchema = z.object({
  tradeId: z.string(),
  orderId: z.uuid(),
  accountId: z.uuid(),
  symbol: z.string(),
  side: z.enum(ORDER_SIDES),
  baseAsset: z.string(),
  quoteAsset: z.string(),
  quantity: decimal,
  price: decimal,
  notional: decimal,
  fee: decimal,
  feeAsset: z.string(),
  executedAt: isoTime,
});

/** The instrument whose position a movement of its base asset belongs to. */
const movementInstrument = z.object({ symbol: z.string(), baseAsset: z.string(), quoteAsset: z.string() });

/**
 * The cost basis of a deposited base asset, per unit in the quote asset: `declared` by
 * the depositor, or `market` (the last market price, at `at`), or `none` (no price yet: 0).
 */
export const depositCostSchema = z.object({ price: decimal, source: z.enum(['declared', 'market', 'none']), at: isoTime.nullable() });

/** What one fill moved in the account's own balances, per asset (signed deltas of the two buckets). */
const balanceMovement = z.object({ asset: z.string(), available: decimal, locked: decimal });

export const fundsSettledSchema = tradeExecutedSchema.extend({ movements: z.array(balanceMovement).min(1) });

interface CatalogueEntry {
  version: number;
  aggregate: AggregateType;
  description: string;
  data: z.ZodType;
}

/** Every event type this service publishes, at its current version. */
export const CATALOGUE = {
  'order.created': { version: 2, aggregate: 'order', description: 'An order was received (status NEW).', data: orderEvent() },
  'order.accepted': { version: 2, aggregate: 'order', description: 'Funds locked, resting at the venue.', data: orderEvent() },
  'order.rejected': { version: 2, aggregate: 'order', description: 'Validation or fund locking failed; nothing stays locked.', data: orderEvent({ reason: z.string() }) },
  'order.partially_filled': { version: 2, aggregate: 'order', description: 'A fill left quantity still working.', data: orderEvent({ fill: fillSchema }) },
  'order.filled': { version: 2, aggregate: 'order', description: 'A fill completed the order.', data: orderEvent({ fill: fillSchema }) },
  'order.cancel_requested': { version: 2, aggregate: 'order', description: 'A cancel was accepted and sent to the venue (PENDING_CANCEL).', data: orderEvent({ reason: z.string().nullable() }) },
  'order.cancel_refused': { version: 2, aggregate: 'order', description: 'The venue refused a cancel; the order is back where it was.', data: orderEvent({ reason: z.string() }) },
  'order.cancelled': { version: 2, aggregate: 'order', description: 'Cancelled on request, or the unfilled rest of an IOC/FOK/MARKET order.', data: orderEvent({ reason: z.string() }) },
  'order.expired': { version: 2, aggregate: 'order', description: 'The time in force (GTD, DAY) ran out.', data: orderEvent({ reason: z.string() }) },
  'order.fill_refused': {
    version: 2,
    aggregate: 'order',
    description: 'A fill the order could not take (over-fill) was refused: an alert for operators.',
    data: orderEvent({ fill: z.object({ tradeId: z.string(), quantity: decimal, price: decimal }), reason: z.string() }),
  },
  'funds.deposited': {
    version: 1,
    aggregate: 'funds',
    description: 'A deposit was credited; of a base asset, with the instrument it is a position in and its cost basis.',
    data: fundsEvent({ reference: z.string(), transactionId: z.string(), instrument: movementInstrument.optional(), costBasis: depositCostSchema.optional() }),
  },
  'funds.withdrawn': {
    version: 1,
    aggregate: 'funds',
    description: 'A withdrawal was debited; of a base asset, with the instrument it is a position in.',
    data: fundsEvent({ reference: z.string(), transactionId: z.string(), instrument: movementInstrument.optional() }),
  },
  'funds.locked': { version: 1, aggregate: 'funds', description: 'An order locked funds.', data: fundsEvent({ orderId: z.uuid() }) },
  'funds.released': {
    version: 1,
    aggregate: 'funds',
    description: 'Locked funds went back to available (price improvement, or what a closed order held).',
    // tradeId: released by a fill's settlement, whose funds.settled (next in the stream) carries it too.
    data: fundsEvent({ orderId: z.uuid(), reason: z.string(), tradeId: z.string().optional() }),
  },
  'funds.settled': {
    version: 1,
    aggregate: 'funds',
    description: "A fill settled: the trade, and every movement of the account's balances its ledger transaction made (the last funds event of the fill).",
    data: fundsSettledSchema,
  },
  'trade.executed': { version: 1, aggregate: 'trades', description: 'One fill of an order: quantity at price, with its fee.', data: tradeExecutedSchema },
  'account.created': { version: 1, aggregate: 'account', description: 'An account was opened.', data: z.object({ accountId: z.uuid(), name: z.string() }) },
} as const satisfies Record<string, CatalogueEntry>;

export type EventType = keyof typeof CATALOGUE;
export type EventData<T extends EventType> = z.infer<(typeof CATALOGUE)[T]['data']>;

export const EVENT_TYPES = Object.keys(CATALOGUE) as EventType[];

/** Schemas of older versions still accepted from the stream, keyed "type@version". */
const PREVIOUS_VERSIONS: Record<string, z.ZodType> = Object.fromEntries(
  Object.entries(CATALOGUE)
    .filter(([, entry]) => entry.aggregate === 'order')
    .map(([type, entry]) => [`${type}@1`, (entry.data as z.ZodObject<z.ZodRawShape>).extend({ order: orderSnapshotV1Schema })]),
);

export function dataSchema(eventType: string, version: number): z.ZodType | null {
  const current = (CATALOGUE as Record<string, CatalogueEntry>)[eventType];
  if (current && current.version === version) return current.data;
  return PREVIOUS_VERSIONS[`${eventType}@${version}`] ?? null;
}

export class EventSchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EventSchemaError';
  }
}

/** Validates an envelope and its data against the catalogue; throws EventSchemaError. */
export function parseEvent(raw: unknown): EventEnvelope {
  const env = envelopeSchema.safeParse(raw);
  if (!env.success) throw new EventSchemaError(`invalid envelope: ${env.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const schema = dataSchema(env.data.eventType, env.data.eventVersion);
  if (!schema) throw new EventSchemaError(`unknown event ${env.data.eventType} version ${env.data.eventVersion}`);
  const data = schema.safeParse(env.data.data);
  if (!data.success) {
    throw new EventSchemaError(`invalid ${env.data.eventType}@${env.data.eventVersion}: ${data.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return { ...env.data, data: data.data };
}

/** The aggregate an event belongs to (its sequence counts within it). */
export function aggregateIdFor(eventType: EventType, data: Record<string, unknown>): string {
  return CATALOGUE[eventType].aggregate === 'order' ? (data.order as { orderId: string }).orderId : (data.accountId as string);
}
