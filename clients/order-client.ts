/**
 * The one way anything talks to order workflows: the API places and cancels, the
 * venue's fill dispatcher applies fills, tests do all three. Place is an
 * Update-with-Start, cancel and fill are updates. The order id is derived from
 * account + clientOrderId, so a retried request reaches the same workflow and never
 * makes a second order; a fill's update id is derived from its trade id, so a
 * re-delivered fill is deduplicated by Temporal as well as by the workflow.
 */
import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { EntityManager } from '@mikro-orm/postgresql';
import { v5 as uuidv5 } from 'uuid';
import { isTerminal, requestFingerprint, type OrderSnapshot, type PlaceOrderRequest } from '../domain/order';
import { findOrder } from '../persistence/orders/repository';
import { TIMED_OUT, withTimeout } from '../runtime/timing';
import {
  applyFillUpdate,
  cancelOrderUpdate,
  getOrderQuery,
  OrderFailureTypes,
  OrderSearchAttributes,
  ORDER_WORKFLOW_TYPE,
  orderWorkflowId,
  placeOrderUpdate,
  type ApplyFillResult,
  type CancelOrderResult,
  type OrderWorkflowInput,
  type VenueFillReport,
} from '../workflows/order/definitions';

/** Namespace for deriving order ids (UUID v5 of "accountId/clientOrderId"). */
const ORDER_ID_NAMESPACE = '5b8f1a7e-3c1d-4e0b-9d57-0a6b2f4c9e11';

export function orderIdFor(accountId: string, clientOrderId: string): string {
  return uuidv5(`${accountId}/${clientOrderId}`, ORDER_ID_NAMESPACE);
}

export class ClientOrderIdConflictError extends Error {
  constructor(readonly clientOrderId: string) {
    super(`clientOrderId ${clientOrderId} was already used for a different order`);
    this.name = 'ClientOrderIdConflictError';
  }
}

export class CancelRefusedError extends Error {
  constructor(message: string, readonly order: OrderSnapshot | null) {
    super(message);
    this.name = 'CancelRefusedError';
  }
}

/** Who is asking: the request's correlation id and trace id (events carry them). */
export interface RequestContext {
  correlationId: string | null;
  traceId?: string | null;
}

export interface PlaceOrderOutcome {
  order: OrderSnapshot;
  /** This request created the order (false: a retry of an earlier request). */
  created: boolean;
  /** Validation and locking were not decided within the acknowledgement timeout. */
  pending: boolean;
}

export class OrderClient {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    private readonly ackTimeoutMs: number,
    private readonly em: () => EntityManager,
  ) {}

  /**
   * Places an order, or answers a retry of one. The orders table is the source of truth
   * for (account, clientOrderId): Temporal forgets a closed workflow after its
   * retention period, and a new run under the same id would look like a new order. So
   * an order the read model holds in a final state is answered from there, and the
   * same clientOrderId with other terms is a conflict, whatever Temporal remembers.
   */
  async place(request: PlaceOrderRequest, ctx: RequestContext | null): Promise<PlaceOrderOutcome> {
    const orderId = orderIdFor(request.accountId, request.clientOrderId);
    const workflowId = orderWorkflowId(orderId);
    const known = await findOrder(this.em(), orderId);
    if (known) {
      if (requestFingerprint(known) !== requestFingerprint(request)) throw new ClientOrderIdConflictError(request.clientOrderId);
      if (isTerminal(known.status)) return { order: known, created: false, pending: false };
    }
    const input: OrderWorkflowInput = { orderId, request, correlationId: ctx?.correlationId ?? null, traceId: ctx?.traceId ?? null };
    const startWorkflowOperation = new WithStartWorkflowOperation(ORDER_WORKFLOW_TYPE, {
      workflowId,
      taskQueue: this.taskQueue,
      args: [input],
      // A retry while the order lives joins it; once it is closed the id is never reused.
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [
        { key: OrderSearchAttributes.status, value: 'NEW' },
        { key: OrderSearchAttributes.accountId, value: request.accountId },
        { key: OrderSearchAttributes.symbol, value: request.symbol },
        { key: OrderSearchAttributes.side, value: request.side },
      ],
    });

    let update;
    try {
      update = await this.client.workflow.startUpdateWithStart(placeOrderUpdate, { startWorkflowOperation, waitForStage: 'ACCEPTED' });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return this.closedOrder(orderId, request);
      throw err;
    }
    const result = await withTimeout(update.result(), this.ackTimeoutMs);
    if (result === TIMED_OUT) {
      const order = await this.client.workflow.getHandle(workflowId).query(getOrderQuery);
      if (requestFingerprint(order) !== requestFingerprint(request)) throw new ClientOrderIdConflictError(request.clientOrderId);
      return { order, created: order.version <= 1, pending: true };
    }
    if (result.fingerprint !== requestFingerprint(request)) throw new ClientOrderIdConflictError(request.clientOrderId);
    return { order: result.order, created: result.created, pending: false };
  }

  /** The order of a closed workflow, from the read model (a retry after it ended). */
  private async closedOrder(orderId: string, request: PlaceOrderRequest): Promise<PlaceOrderOutcome> {
    const order = await findOrder(this.em(), orderId);
    if (!order) throw new Error(`order ${orderId} has a closed workflow but no read model row`);
    if (requestFingerprint(order) !== requestFingerprint(request)) throw new ClientOrderIdConflictError(request.clientOrderId);
    return { order, created: false, pending: false };
  }

  /**
   * Hands a fill to its order and waits for the order's answer (applied, duplicate or
   * refused), at most until `deadline` (epoch ms). Throws WorkflowNotFoundError when
   * the order's workflow has closed.
   */
  async applyFill(orderId: string, fill: VenueFillReport, deadline: number): Promise<ApplyFillResult> {
    const handle = this.client.workflow.getHandle(orderWorkflowId(orderId));
    return this.client.withDeadline(deadline, () => handle.executeUpdate(applyFillUpdate, { args: [fill], updateId: `fill-${fill.tradeId}` }));
  }

  async cancel(orderId: string, reason: string | null, ctx: RequestContext | null): Promise<CancelOrderResult> {
    const handle = this.client.workflow.getHandle(orderWorkflowId(orderId));
    const request = { reason, correlationId: ctx?.correlationId ?? null, traceId: ctx?.traceId ?? null };
    try {
      const result = await withTimeout(handle.executeUpdate(cancelOrderUpdate, { args: [request] }), this.ackTimeoutMs);
      if (result === TIMED_OUT) return { outcome: 'PENDING', order: await handle.query(getOrderQuery) };
      return result;
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === OrderFailureTypes.cancelRefused) {
        throw new CancelRefusedError(err.cause.message, await findOrder(this.em(), orderId));
      }
      if (err instanceof WorkflowNotFoundError) {
        const order = await findOrder(this.em(), orderId);
        if (order) throw new CancelRefusedError(`order is already ${order.status}`, order);
      }
      throw err;
    }
  }
}
