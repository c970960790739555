/**
 * The order workflow's contract, workflow-safe: every type that crosses the workflow
 * boundary (input, update and query payloads, what its activities take and return),
 * the update/query definitions, search attribute keys, the task-queue-independent
 * workflow-id helper and the failure types. The workflow, its activities and every
 * client (API, fill dispatcher, tests) import these same definitions, and nothing
 * here imports persistence, events or venue code.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { EventContext } from '../../domain/causation';
import type { Posting } from '../../domain/funds';
import type { Instrument } from '../../domain/instrument';
import type { OrderFill, OrderSnapshot, OrderStatus, PlaceOrderRequest } from '../../domain/order';
import type { VenueAck, VenueCancelResult, VenueFill, VenueOrderRequest } from '../../domain/venue';

export type { EventContext, Instrument, OrderFill, OrderSnapshot, OrderStatus, PlaceOrderRequest, Posting, VenueAck, VenueCancelResult, VenueFill, VenueOrderRequest };

/** The context of a change whose input predates it: nothing known about its cause. */
export const UNKNOWN_CAUSE: EventContext = { correlationId: null, causationId: null };

/** The workflow type clients start (the name of the exported workflow function). */
export const ORDER_WORKFLOW_TYPE = 'orderWorkflow';

/** One workflow per order; the id is derived from the order id, itself derived from account + clientOrderId. */
export function orderWorkflowId(orderId: string): string {
  return `order-${orderId}`;
}

/** Custom search attributes (Keyword), upserted on every transition; an operator filters on them in the Web UI. */
export const OrderSearchAttributes = {
  status: defineSearchAttributeKey('OrderStatus', SearchAttributeType.KEYWORD),
  accountId: defineSearchAttributeKey('AccountId', SearchAttributeType.KEYWORD),
  symbol: defineSearchAttributeKey('Symbol', SearchAttributeType.KEYWORD),
  side: defineSearchAttributeKey('Side', SearchAttributeType.KEYWORD),
} as const;

export const ORDER_SEARCH_ATTRIBUTE_KEYS = Object.values(OrderSearchAttributes);

export interface OrderWorkflowInput {
  orderId: string;
  request: PlaceOrderRequest;
  /** Correlation id of the API request that placed the order (events carry it). */
  correlationId: string | null;
  /** W3C trace id of that request, when it had one. */
  traceId?: string | null;
}

/** Answer to the placing request: the order once validation and locking are decided. */
export interface PlaceOrderResult {
  order: OrderSnapshot;
  /** requestFingerprint() of the request that started the workflow. */
  fingerprint: string;
  /** True for the request that created the order, false for a retry of it. */
  created: boolean;
}

/** A fill as the venue reports it. */
export interface VenueFillReport {
  tradeId: string;
  quantity: string;
  price: string;
  executedAt: string;
  /** Correlation id of the request that made the fill (a tick), when known. */
  correlationId?: string | null;
}

export interface ApplyFillResult {
  tradeId: string;
  outcome: 'APPLIED' | 'DUPLICATE' | 'REFUSED';
  reason: string | null;
  status: OrderStatus;
  filledQuantity: string;
}

export interface CancelOrderRequest {
  reason: string | null;
  correlationId: string | null;
  traceId?: string | null;
}

export interface CancelOrderResult {
  /**
   * CANCELLED: the cancel took effect; EXPIRED: the time in force ran out before the
   * venue confirmed the cancel; TOO_LATE: a fill won the race (or the venue refused);
   * PENDING: the venue has not answered yet.
   */
  outcome: 'CANCELLED' | 'EXPIRED' | 'TOO_LATE' | 'PENDING';
  order: OrderSnapshot;
}

/** The order without its fills list (a commit carries at most the one new fill). */
export type OrderState = Omit<OrderSnapshot, 'fills'>;

/**
 * One change the workflow decided, for the one commit that makes it durable: the
 * order row (versioned), its ledger postings, the fill, the transition and the
 * events, in a single PostgreSQL transaction. Idempotent by (order id, version).
 */
export interface OrderCommit {
  /** The order after the change; order.version is this change's number (1 = created). */
  order: OrderState;
  workflowId: string;
  transition: { from: OrderStatus | null; to: OrderStatus; reason: string | null } | null;
  /** Ledger postings this change makes (lock, fill settlement, release); may be empty. */
  postings: Posting[];
  /** What the ledger transaction is (LOCK, FILL, RELEASE...), when there are postings. */
  ledgerKind: string | null;
  fill: OrderFill | null;
  /**
   * Who caused the change, for its events' correlation and causation ids. Optional:
   * activities scheduled by workflow code older than this field arrive without it
   * (activity inputs only ever gain optional fields).
   */
  context?: EventContext;
}

/** What validation hands the workflow, once the order passed it. */
export interface ValidatedOrder {
  instrument: Instrument;
  /** Last price, for MARKET orders (lock and protection price). */
  lastPrice: string | null;
  marketOrderCollar: string;
  /** When the order expires: expireAt for GTD, the session close for DAY, else null. */
  expireAt: string | null;
  /**
   * When the order must have reached the venue (ORDER_SUBMISSION_DEADLINE_MS after
   * validation). Optional: a validation recorded by older code has none (no deadline).
   */
  submitBy?: string | null;
}

/** A fill the order refused (an over-fill), reported as an operator alert. */
export interface FillRefusal {
  orderId: string;
  fill: { tradeId: string; quantity: string; price: string };
  reason: string;
  /** Optional, as in OrderCommit. */
  context?: EventContext;
}

/**
 * The order workflow's activities. The commit steps share one input type and one
 * implementation; each keeps its own name, because the name is what an operator reads
 * in the Web UI's history and what recorded histories schedule.
 */
export interface OrderActivities {
  /** Writes the order's first version (NEW). */
  recordOrder(commit: OrderCommit): Promise<void>;
  /** Business validation; a rejection is a non-retryable OrderValidationError. */
  validateOrder(input: { orderId: string; request: PlaceOrderRequest }): Promise<ValidatedOrder>;
  /** Commits the lock; not covered is a non-retryable InsufficientFundsError. */
  lockFunds(commit: OrderCommit): Promise<void>;
  /**
   * Commits the order's first versions in one transaction: NEW with its lock (not
   * covered: InsufficientFundsError, nothing written), or NEW with its rejection.
   */
  admitOrder(commits: OrderCommit[]): Promise<void>;
  submitToVenue(order: VenueOrderRequest): Promise<VenueAck>;
  /** Commits one fill: debit, credit, fee, price improvement released, new status. */
  settleFill(commit: OrderCommit): Promise<void>;
  reportFillRefused(refusal: FillRefusal): Promise<void>;
  cancelAtVenue(orderId: string): Promise<VenueCancelResult>;
  /** Commits a status change, with the release of what a terminal order still holds. */
  recordTransition(commit: OrderCommit): Promise<void>;
}

export const placeOrderUpdate = defineUpdate<PlaceOrderResult, []>('placeOrder');
export const applyFillUpdate = defineUpdate<ApplyFillResult, [VenueFillReport]>('applyFill');
export const cancelOrderUpdate = defineUpdate<CancelOrderResult, [CancelOrderRequest]>('cancelOrder');
export const getOrderQuery = defineQuery<OrderSnapshot>('getOrder');

/** ApplicationFailure types the order workflow and its activities use. */
export const OrderFailureTypes = {
  validation: 'OrderValidationError',
  insufficientFunds: 'InsufficientFundsError',
  cancelRefused: 'CancelRefusedError',
  fillRefused: 'FillRefusedError',
} as const;
