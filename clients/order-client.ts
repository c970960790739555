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
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcDeadlineError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { EntityManager } from '@mikro-orm/postgresql';
import { v5 as uuidv5 } from 'uuid';
import { isTerminal, newOrder, requestFingerprint, type OrderSnapshot, type PlaceOrderRequest } from '../domain/order';
import { findOrder } from '../persistence/orders/repository';
import { TIMED_OUT, withTimeout } from '../runtime/timing';
import {
  applyFillUpdate,
  cancelOrderUpdate,
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

/**
 * The placing update's id, derived from the request's terms: a retried request is the
 * same update, which Temporal answers again without adding it to the history (a run
 * takes at most 2,000 updates). Other terms under the same clientOrderId are another
 * update, which the workflow answers as a conflict.
 */
export function placeUpdateId(request: PlaceOrderRequest): string {
  return `place-${uuidv5(requestFingerprint(request), ORDER_ID_NAMESPACE)}`;
}

export class ClientOrderIdConflictError extends Error {
  constructor(readonly clientOrderId: string) {
    super(`clientOrderId ${clientOrderId} was already used for a different order`);
    this.name = 'ClientOrderIdConflictError';
  }
}

/**
 * Neither the workflow nor the read model shows the order after the acknowledgement
 * timeout: it is not known to be placed. Nothing was answered as placed, and a retry
 * with the same clientOrderId reaches the same order if it did start.
 */
export class PlacementUnconfirmedError extends Error {
  constructor(readonly orderId: string) {
    super(`order ${orderId} could not be confirmed in time; retry with the same clientOrderId`);
    this.name = 'PlacementUnconfirmedError';
  }
}

/** How long the server alone may take to say whether a workflow exists. */
const DESCRIBE_TIMEOUT_MS = 2_000;

/** An order found under the request's clientOrderId must have its terms, or the request is a conflict. */
function assertSameTerms(order: PlaceOrderRequest, request: PlaceOrderRequest): void {
  if (requestFingerprint(order) !== requestFingerprint(request)) throw new ClientOrderIdConflictError(request.clientOrderId);
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
      assertSameTerms(known, request);
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

    // Everything below runs against one deadline: the gRPC calls of Update-with-Start
    // and of waiting for its result, so none of them outlives the answer.
    const deadline = Date.now() + this.ackTimeoutMs;
    try {
      return await this.client.withDeadline(deadline, async () => {
        const update = await this.client.workflow.startUpdateWithStart(placeOrderUpdate, {
          startWorkflowOperation,
          updateId: placeUpdateId(request),
          waitForStage: 'ACCEPTED',
        });
        const result = await update.result();
        if (result.fingerprint !== requestFingerprint(request)) throw new ClientOrderIdConflictError(request.clientOrderId);
        // A retry is the same update with the same answer: it created nothing if the
        // order was already recorded when it came.
        return { order: result.order, created: result.created && !known, pending: false };
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return this.closedOrder(orderId, request);
      if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcDeadlineError(err)) return this.undecided(orderId, request);
      throw err;
    }
  }

  /**
   * The placement was not decided before the deadline (a busy worker or server). The
   * answer then comes from what needs no worker: the read model if the workflow has
   * recorded the order, else the server's description of the workflow. An order that
   * exists is pending (202); one the server does not know of is not placed, and a
   * retry with the same clientOrderId is safe.
   */
  private async undecided(orderId: string, request: PlaceOrderRequest): Promise<PlaceOrderOutcome> {
    const recorded = await findOrder(this.em(), orderId);
    if (recorded) {
      assertSameTerms(recorded, request);
      return { order: recorded, created: recorded.version <= 1, pending: true };
    }
    const handle = this.client.workflow.getHandle(orderWorkflowId(orderId));
    try {
      const started = await this.client.withDeadline(Date.now() + DESCRIBE_TIMEOUT_MS, () => handle.describe());
      return { order: newOrder(orderId, request, started.startTime.toISOString()), created: true, pending: true };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError || isGrpcDeadlineError(err)) throw new PlacementUnconfirmedError(orderId);
      throw err;
    }
  }

  private async recorded(orderId: string): Promise<OrderSnapshot> {
    const order = await findOrder(this.em(), orderId);
    if (!order) throw new Error(`order ${orderId} has a workflow but no read model row`);
    return order;
  }

  /** The order of a closed workflow, from the read model (a retry after it ended). */
  private async closedOrder(orderId: string, request: PlaceOrderRequest): Promise<PlaceOrderOutcome> {
    const order = await this.recorded(orderId);
    assertSameTerms(order, request);
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
      // Not answered in time: the update goes on; the order as the read model has it
      // (a query would wait for the same busy worker).
      if (result === TIMED_OUT) return { outcome: 'PENDING', order: await this.recorded(orderId) };
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
