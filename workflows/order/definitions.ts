/**
 * The order workflow's public contract, workflow-safe: types, update/query
 * definitions, search attribute keys and the workflow-id helper. The workflow and
 * every client (API, venue, tests) import these same definitions.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { OrderSnapshot, OrderStatus, PlaceOrderRequest } from '../../domain/order';

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
