/**
 * One workflow per order: it owns the order's lifecycle and makes every decision.
 *
 *   validate -> record NEW and lock funds (one commit) -> submit to the venue
 *     -> fills (from the submission, from the venue as `applyFill` updates, from a
 *        cancel's answer), each settled by an activity
 *     -> cancel (`cancelOrder` update) / expiry (durable timer for GTD and DAY)
 *     -> a terminal status, releasing whatever the order still holds.
 *
 * State only advances after the activity that commits it succeeded, so the read
 * model, the ledger and this state never disagree. Fills are applied one at a time
 * by the main loop (handlers only enqueue), so settlement is strictly sequential.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  allHandlersFinished,
} from '@temporalio/workflow';
import { dec, str } from '../../domain/decimal';
import { fillSettlement, lockPlan, lockPostings, releasePostings, type LockPlan, type Settlement } from '../../domain/funds';
import type { RejectCode } from '../../domain/instrument';
import { assertTransition, cancelRefusal, isTerminal, newOrder, requestFingerprint } from '../../domain/order';
import {
  applyFillUpdate,
  cancelOrderUpdate,
  getOrderQuery,
  OrderFailureTypes,
  OrderSearchAttributes,
  orderWorkflowId,
  placeOrderUpdate,
  type ApplyFillResult,
  type CancelOrderRequest,
  type CancelOrderResult,
  type EventContext,
  type Instrument,
  type OrderActivities,
  type OrderCommit,
  type OrderFill,
  type OrderSnapshot,
  type OrderStatus,
  type Posting,
  type ValidatedOrder,
  type VenueAck,
  type VenueFill,
  type VenueFillReport,
  type VenueOrderRequest,
  type OrderWorkflowInput,
} from './definitions';

const retry = { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s' } as const;

const stepOptions = { startToCloseTimeout: '20s', retry } as const;
/** A submission against a deadline: one attempt at a time (SUBMISSION_DEADLINE_PATCH), with the steps' backoff between them. */
const SUBMIT_ATTEMPT_TIMEOUT_MS = 20_000;
const SUBMIT_RETRY_INITIAL_MS = 500;
const SUBMIT_RETRY_MAX_MS = 30_000;

/**
 * Since this patch the steps run as local activities: in the worker that runs the
 * workflow, with their results recorded in the workflow task, instead of a round trip
 * through the server's task queues per step. Placement (record, validate, lock,
 * submit, accept) then answers in about one workflow task, and a fill settles in one.
 * Each step is idempotent (commits by order version, the venue by order id), which
 * local activities need: a step may run again if its workflow task is retried.
 *
 * The cancel at the venue stays a regular activity: a venue may take its time to
 * confirm a cancel, and while a local activity runs, the workflow answers no query
 * and takes no update. Orders started before the patch keep scheduling regular
 * activities until they end.
 */
export const LOCAL_STEPS_PATCH = 'order-steps-as-local-activities';

/**
 * Since this patch a venue answering a cancel with "unknown order" or "already closed"
 * (nothing live, no fill) ends the order (CANCELLED, or EXPIRED for an expiry) and
 * releases its lock, and an expiry the venue refuses is tried again after
 * EXPIRY_RETRY_MS. Before it, both left the order live past its expiry with its lock
 * held and nothing left to end it.
 */
export const VENUE_HOLDS_NOTHING_PATCH = 'venue-holds-nothing-ends-order';
const EXPIRY_RETRY_MS = 5_000;

/**
 * Since this patch (with local steps) the order's first version is not committed on
 * its own: validation runs first, and NEW goes into the same transaction as the
 * lock (admitOrder), or as the rejection. One transaction and one step fewer before
 * the placing answer; the versions, ledger transactions and events are the same.
 */
export const ADMIT_IN_ONE_COMMIT_PATCH = 'order-admitted-in-one-commit';

/**
 * Since this patch (with local steps) a venue outage at submission cannot hold an
 * order's funds indefinitely, and the order's owner can cancel it while it is NEW:
 * submission runs against the deadline validation set (ValidatedOrder.submitBy), and
 * a cancel accepted while NEW ends the order before submission, or stops a
 * submission under way. Either way the order gives up on submitting only after the
 * venue confirmed it holds nothing of it (a cancel of an id it never received closes
 * that id: see ExchangeAdapter.cancelOrder); then it ends REJECTED (deadline) or
 * CANCELLED (request), its lock released.
 */
export const SUBMISSION_DEADLINE_PATCH = 'order-submission-deadline-and-early-cancel';
const regularSteps = proxyActivities<OrderActivities>(stepOptions);
const local = proxyLocalActivities<OrderActivities>(stepOptions);
const localSteps: OrderActivities = {
  recordOrder: local.recordOrder,
  validateOrder: local.validateOrder,
  lockFunds: local.lockFunds,
  admitOrder: local.admitOrder,
  submitToVenue: local.submitToVenue,
  settleFill: local.settleFill,
  reportFillRefused: local.reportFillRefused,
  recordTransition: local.recordTransition,
  cancelAtVenue: regularSteps.cancelAtVenue,
};

/** Average of the fills, rounded to 18 decimal places (half-even). */
function averagePrice(notional: string, filled: string): string | null {
  const f = dec(filled);
  return f.isZero() ? null : str(dec(notional).div(f).toDecimalPlaces(18));
}

/** The business failure a step ended with: wrapped in an ActivityFailure for a regular activity, as it is for a local one. */
function failureOf(err: unknown): ApplicationFailure | null {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) return err.cause;
  if (err instanceof ApplicationFailure) return err;
  return null;
}

interface CommitOptions {
  ctx: EventContext;
  to?: OrderStatus;
  reason?: string | null;
  postings?: Posting[];
  ledgerKind?: string | null;
  fill?: OrderFill;
}

/** A version decided and its commit, before the commit ran. */
interface Prepared {
  next: OrderSnapshot;
  commit: OrderCommit;
}

interface CancelState {
  reason: string | null;
  /** Whose cancel: a request (CANCELLED) or the time in force (EXPIRED). */
  kind: 'CANCEL' | 'EXPIRE';
  outcome: CancelOrderResult['outcome'] | null;
  /** What caused it, for the events. */
  ctx: EventContext;
}

export class OrderProcess {
  private order: OrderSnapshot;
  private readonly workflowId: string;
  private instrument: Instrument | null = null;
  private plan: LockPlan | null = null;
  /** Validation and locking are decided (the placing request can be answered). */
  private decided = false;
  /** placeOrder updates received: the first one created the order. */
  private placeRequests = 0;
  private readonly applied = new Map<string, ApplyFillResult>();
  private readonly queue: VenueFillReport[] = [];
  /** Trade ids received as updates and not yet decided. */
  private readonly inFlight = new Set<string>();
  private cancel: CancelState | null = null;
  private expired = false;
  /** The main loop has ended: the order is terminal and takes nothing more. */
  private closed = false;
  private readonly expiryScope = new CancellationScope();
  /** How the steps run: decided once, at the start (see LOCAL_STEPS_PATCH). */
  private acts: OrderActivities = regularSteps;
  /** The placing request: the cause of everything the order does on its own. */
  private readonly placed: EventContext;
  /** SUBMISSION_DEADLINE_PATCH: a cancel is accepted while NEW, and submission has a deadline. */
  private earlyCancel = false;
  /** ADMIT_IN_ONE_COMMIT_PATCH: the NEW version, decided but not committed; the next commit carries it. */
  private creation: Prepared | null = null;

  constructor(private readonly input: OrderWorkflowInput) {
    const r = input.request;
    const now = new Date().toISOString();
    this.workflowId = orderWorkflowId(input.orderId);
    this.placed = { correlationId: input.correlationId, causationId: input.correlationId, traceId: input.traceId ?? null };
    this.order = newOrder(input.orderId, r, now);
  }

  view(): OrderSnapshot {
    return { ...this.order, fills: [...this.order.fills] };
  }

  registerHandlers(): void {
    setHandler(getOrderQuery, () => this.view());

    setHandler(placeOrderUpdate, async () => {
      const created = this.placeRequests++ === 0;
      await condition(() => this.decided);
      return { order: this.view(), fingerprint: requestFingerprint(this.input.request), created };
    });

    setHandler(
      applyFillUpdate,
      async (fill) => {
        const known = this.applied.get(fill.tradeId);
        if (known) return { ...known, outcome: known.outcome === 'APPLIED' ? 'DUPLICATE' : known.outcome };
        if (this.closed) {
          this.refuse(fill, `order is ${this.order.status}`);
          return this.applied.get(fill.tradeId) as ApplyFillResult;
        }
        // Another delivery of this trade may be queued or being settled: this one is then the duplicate.
        const duplicate = this.inFlight.has(fill.tradeId);
        if (!duplicate) {
          this.inFlight.add(fill.tradeId);
          this.queue.push(fill);
        }
        await condition(() => this.applied.has(fill.tradeId));
        const result = this.applied.get(fill.tradeId) as ApplyFillResult;
        return duplicate && result.outcome === 'APPLIED' ? { ...result, outcome: 'DUPLICATE' } : result;
      },
      {
        validator: (fill) => {
          for (const field of ['quantity', 'price'] as const) {
            const v = fill[field];
            if (typeof v !== 'string' || !/^\d+(\.\d+)?$/.test(v) || dec(v).isZero()) {
              throw ApplicationFailure.create({ type: OrderFailureTypes.fillRefused, message: `fill ${field} "${v}" is not a positive decimal` });
            }
          }
          if (!fill.tradeId) throw ApplicationFailure.create({ type: OrderFailureTypes.fillRefused, message: 'fill has no tradeId' });
        },
      },
    );

    setHandler(
      cancelOrderUpdate,
      async (req: CancelOrderRequest) => {
        const correlationId = req.correlationId ?? this.input.correlationId;
        const cancel: CancelState = {
          reason: req.reason,
          kind: 'CANCEL',
          outcome: null,
          ctx: { correlationId, causationId: req.correlationId, traceId: req.traceId ?? this.placed.traceId },
        };
        this.cancel = cancel;
        await condition(() => cancel.outcome !== null);
        return { outcome: cancel.outcome as CancelOrderResult['outcome'], order: this.view() };
      },
      {
        validator: (_req: CancelOrderRequest) => {
          const refusal = cancelRefusal(this.order.status, this.cancel !== null && this.cancel.outcome === null, this.earlyCancel);
          if (refusal) throw ApplicationFailure.create({ type: OrderFailureTypes.cancelRefused, message: refusal });
        },
      },
    );
  }

  async run(): Promise<OrderSnapshot> {
    if (patched(LOCAL_STEPS_PATCH)) this.acts = localSteps;
    const created = { ctx: this.placed, to: 'NEW', reason: null } as const;
    if (this.acts === localSteps && patched(ADMIT_IN_ONE_COMMIT_PATCH)) this.creation = this.prepare(this.order, created);
    else await this.commit(this.acts.recordOrder, created);

    if (this.acts === localSteps && patched(SUBMISSION_DEADLINE_PATCH)) this.earlyCancel = true;

    const validated = await this.validate();
    if (!validated || (await this.cancelledWhileNew())) return this.close();

    if (!(await this.lock(validated)) || (await this.cancelledWhileNew())) return this.close();

    const request: VenueOrderRequest = {
      orderId: this.order.orderId,
      symbol: this.order.symbol,
      side: this.order.side,
      type: this.order.type,
      timeInForce: this.order.timeInForce,
      quantity: this.order.quantity,
      limitPrice: this.order.limitPrice,
      protectionPrice: this.plan!.protectionPrice,
    };
    if (this.earlyCancel) {
      const ack = await this.submitWithin(validated.submitBy ?? null, request);
      if (ack) await this.onAcknowledged(ack);
      else await this.giveUpSubmission(validated.submitBy ?? null);
    } else {
      await this.onAcknowledged(await this.acts.submitToVenue(request));
    }
    this.decided = true;

    if (this.order.expireAt && !isTerminal(this.order.status)) this.startExpiryTimer(this.order.expireAt);

    while (!isTerminal(this.order.status)) {
      await condition(() => this.queue.length > 0 || (this.cancel !== null && this.cancel.outcome === null) || this.expired);
      if (this.queue.length > 0) {
        const fill = this.queue.shift() as VenueFillReport;
        await this.applyFill(fill);
        this.inFlight.delete(fill.tradeId);
      } else if (this.cancel && this.cancel.outcome === null) {
        await this.cancelAtVenue(this.cancel);
      } else if (this.expired) {
        this.cancel = {
          reason: 'time in force expired',
          kind: 'EXPIRE',
          outcome: null,
          ctx: { ...this.placed, causationId: `timer:${this.order.orderId}:expiry` },
        };
        await this.cancelAtVenue(this.cancel);
        this.expired = false;
      }
    }
    return this.close();
  }

  /** The order is terminal: it takes nothing more, and whatever still waits is answered. */
  private close(): OrderSnapshot {
    this.closed = true;
    this.expiryScope.cancel();
    // A queued fill can no longer apply, and a cancel that something else overtook is too late.
    for (const f of this.queue.splice(0)) this.refuse(f, `order is ${this.order.status}`);
    if (this.cancel && this.cancel.outcome === null) this.cancel.outcome = 'TOO_LATE';
    return this.view();
  }

  /** SUBMISSION_DEADLINE_PATCH: a cancel that came while NEW, before anything went to the venue, ends the order here. */
  private async cancelledWhileNew(): Promise<boolean> {
    const cancel = this.cancel;
    if (!this.earlyCancel || !cancel || cancel.outcome !== null) return false;
    await this.finish('CANCELLED', cancel.reason ?? 'cancelled on request', cancel.ctx);
    cancel.outcome = 'CANCELLED';
    return true;
  }

  /**
   * Submits, retrying until `submitBy` at the latest; null when it gave up: the
   * deadline passed, or a cancel came while a submission was under way or between two
   * attempts. Each attempt is one local activity and each wait a timer, so the
   * workflow takes updates (a cancel) between attempts.
   */
  private async submitWithin(submitBy: string | null, request: VenueOrderRequest): Promise<VenueAck | null> {
    if (!submitBy) return this.acts.submitToVenue(request);
    const deadline = Date.parse(submitBy);
    const cancelPending = () => this.cancel !== null && this.cancel.outcome === null;
    for (let attempt = 1; ; attempt++) {
      const timeout = Math.max(1_000, Math.min(SUBMIT_ATTEMPT_TIMEOUT_MS, deadline - Date.now()));
      const submitOnce = proxyLocalActivities<OrderActivities>({ startToCloseTimeout: timeout, retry: { maximumAttempts: 1 } }).submitToVenue;
      const scope = new CancellationScope();
      let settled = false;
      void condition(() => settled || cancelPending()).then(() => {
        if (!settled) scope.cancel();
      });
      try {
        return await scope.run(() => submitOnce(request));
      } catch (err) {
        if (isCancellation(err)) return null;
        if (failureOf(err)?.nonRetryable) throw err;
        log.warn('venue submission failed; will retry until the deadline', { orderId: this.order.orderId, attempt, submitBy });
      } finally {
        settled = true;
      }
      const wait = Math.min(SUBMIT_RETRY_MAX_MS, SUBMIT_RETRY_INITIAL_MS * 2 ** (attempt - 1));
      if (Date.now() + wait >= deadline) return null;
      if (await condition(cancelPending, wait)) return null;
    }
  }

  /**
   * Gives up on a submission that did not answer (deadline or cancel): the venue
   * cancels whatever of the order reached it, or closes the id if nothing did. What
   * it filled is applied; if it holds the order live and refuses to cancel, the order
   * works after all (ACCEPTED); otherwise it ends CANCELLED (a request) or REJECTED
   * (the deadline), releasing its lock. A venue that cannot answer keeps the lock
   * held: nothing is released before the venue confirms.
   */
  private async giveUpSubmission(submitBy: string | null): Promise<void> {
    const cancel = this.cancel && this.cancel.outcome === null ? this.cancel : null;
    const ctx = cancel?.ctx ?? this.placed;
    const result = await this.acts.cancelAtVenue(this.order.orderId);
    for (const fill of result.fills) await this.applyFill(this.report(fill, ctx));
    if (isTerminal(this.order.status)) {
      if (cancel) cancel.outcome = 'TOO_LATE';
      return;
    }
    const holdsNothing = result.cancelled || result.reason === 'UNKNOWN_ORDER' || result.reason === 'ALREADY_CLOSED';
    if (!holdsNothing) {
      log.warn('venue holds the order and refused to cancel it: it works', { orderId: this.order.orderId, reason: result.reason });
      if (this.order.status === 'NEW') await this.commit(this.acts.recordTransition, { ctx: this.placed, to: 'ACCEPTED', reason: null });
      if (cancel) cancel.outcome = 'TOO_LATE';
      return;
    }
    if (cancel) {
      await this.finish('CANCELLED', cancel.reason ?? 'cancelled on request', cancel.ctx);
      cancel.outcome = 'CANCELLED';
      return;
    }
    const why = `VENUE_UNAVAILABLE: not submitted to the venue by ${submitBy}`;
    await this.finish(dec(this.order.filledQuantity).isZero() ? 'REJECTED' : 'CANCELLED', why, this.placed);
  }

  private async validate(): Promise<ValidatedOrder | null> {
    try {
      const v = await this.acts.validateOrder({ orderId: this.order.orderId, request: this.input.request });
      this.instrument = v.instrument;
      return v;
    } catch (err) {
      const f = failureOf(err);
      if (f?.type === OrderFailureTypes.validation) {
        const code = (f.details?.[0] as { code?: RejectCode } | undefined)?.code ?? 'VALIDATION';
        await this.reject(`${code}: ${f.message}`);
        return null;
      }
      throw err;
    }
  }

  private async lock(v: ValidatedOrder): Promise<boolean> {
    // A domain error here (an amount that cannot be held exactly) must end the order
    // visibly: thrown from workflow code it would fail the workflow task, which the
    // worker retries forever, leaving the order NEW and uncancellable.
    let plan: LockPlan;
    let postings: Posting[];
    try {
      plan = lockPlan(this.order, v.instrument, v.lastPrice, v.marketOrderCollar);
      postings = lockPostings(this.order.accountId, plan.asset, plan.amount);
    } catch (err) {
      await this.reject(`INVALID_AMOUNT: ${(err as Error).message}`);
      return false;
    }
    try {
      await this.commit(
        this.acts.lockFunds,
        { ctx: this.placed, postings, ledgerKind: 'LOCK' },
        (o) => {
          o.lockedAsset = plan.asset;
          o.lockedAmount = plan.amount;
          o.feeAsset = v.instrument.quoteAsset;
          o.expireAt = v.expireAt;
        },
      );
      this.plan = plan;
      return true;
    } catch (err) {
      const f = failureOf(err);
      if (f?.type === OrderFailureTypes.insufficientFunds) {
        await this.reject(`INSUFFICIENT_FUNDS: ${f.message}`);
        return false;
      }
      throw err;
    }
  }

  private async onAcknowledged(ack: VenueAck): Promise<void> {
    if (ack.status === 'REJECTED') {
      await this.finish('REJECTED', `VENUE_REJECTED: ${ack.rejectReason ?? 'rejected by the venue'}`, this.placed);
      return;
    }
    for (const fill of ack.fills) await this.applyFill(this.report(fill, this.placed));
    if (isTerminal(this.order.status)) return;
    if (ack.status === 'RESTING') {
      if (this.order.status === 'NEW') await this.commit(this.acts.recordTransition, { ctx: this.placed, to: 'ACCEPTED', reason: null });
    } else {
      // IOC / FOK / MARKET: the venue cancelled what it could not fill at once.
      const why = this.order.timeInForce === 'FOK' ? 'FOK: not fillable in full' : `${this.order.timeInForce}: unfilled quantity cancelled`;
      await this.finish('CANCELLED', why, this.placed);
    }
  }

  /** A fill the order learned from a venue answer (submission or cancel), caused by that request. */
  private report(f: VenueFill, ctx: EventContext): VenueFillReport {
    return { tradeId: f.tradeId, quantity: f.quantity, price: f.price, executedAt: f.executedAt, correlationId: ctx.correlationId };
  }

  /** Records a refusal; a fill whose outcome is already decided keeps it. */
  private refuse(fill: VenueFillReport, reason: string): void {
    if (this.applied.has(fill.tradeId)) return;
    log.warn('fill refused', { orderId: this.order.orderId, tradeId: fill.tradeId, quantity: fill.quantity, reason });
    this.applied.set(fill.tradeId, {
      tradeId: fill.tradeId,
      outcome: 'REFUSED',
      reason,
      status: this.order.status,
      filledQuantity: this.order.filledQuantity,
    });
  }

  /** Refuses a fill and reports it as an operator alert (order.fill_refused). */
  private async refuseAndReport(fill: VenueFillReport, reason: string): Promise<void> {
    await this.acts.reportFillRefused({
      orderId: this.order.orderId,
      fill: { tradeId: fill.tradeId, quantity: fill.quantity, price: fill.price },
      reason,
      context: { correlationId: fill.correlationId ?? this.placed.correlationId, causationId: `trade:${fill.tradeId}`, traceId: this.placed.traceId },
    });
    this.refuse(fill, reason);
  }

  /** Settles one fill: applied once per trade id; an over-fill is refused and reported. */
  private async applyFill(fill: VenueFillReport): Promise<void> {
    if (this.applied.get(fill.tradeId)?.outcome === 'APPLIED') return;
    const o = this.order;
    if (isTerminal(o.status)) return this.refuse(fill, `order is ${o.status}`);
    const qty = dec(fill.quantity);
    if (qty.greaterThan(dec(o.leavesQuantity))) {
      return this.refuseAndReport(fill, `over-fill: ${fill.quantity} exceeds the ${o.leavesQuantity} left of ${o.quantity}`);
    }
    const instrument = this.instrument!;
    let settlement: Settlement;
    try {
      settlement = fillSettlement(
        {
          accountId: o.accountId,
          side: o.side,
          baseAsset: instrument.baseAsset,
          quoteAsset: instrument.quoteAsset,
          feeRate: instrument.feeRate,
          unitLock: this.plan!.unitLock,
          lockedAmount: o.lockedAmount,
          leavesQuantity: o.leavesQuantity,
        },
        fill,
      );
    } catch (err) {
      // The venue executed, but the fill cannot be settled against what the order
      // holds: refused and alerted, never a silent retry loop of the workflow task.
      return this.refuseAndReport(fill, `unsettleable fill: ${(err as Error).message}`);
    }
    const filled = dec(o.filledQuantity).plus(qty);
    const leaves = dec(o.quantity).minus(filled);
    const to: OrderStatus = leaves.isZero() ? 'FILLED' : 'PARTIALLY_FILLED';
    const record: OrderFill = {
      tradeId: fill.tradeId,
      quantity: str(qty),
      price: str(fill.price),
      fee: settlement.fee,
      feeAsset: settlement.feeAsset,
      at: fill.executedAt,
    };
    const ctx: EventContext = {
      correlationId: fill.correlationId ?? this.placed.correlationId,
      causationId: `trade:${fill.tradeId}`,
      traceId: this.placed.traceId,
    };
    await this.commit(
      this.acts.settleFill,
      { ctx, to, reason: null, postings: settlement.postings, ledgerKind: 'FILL', fill: record },
      (next) => {
        next.filledQuantity = str(filled);
        next.leavesQuantity = str(leaves);
        next.notional = str(dec(o.notional).plus(dec(settlement.notional)));
        next.averageFillPrice = averagePrice(next.notional, next.filledQuantity);
        next.fees = str(dec(o.fees).plus(dec(settlement.fee)));
        next.lockedAmount = settlement.lockedAfter;
        next.fills = [...o.fills, record];
      },
    );
    this.applied.set(fill.tradeId, {
      tradeId: fill.tradeId,
      outcome: 'APPLIED',
      reason: null,
      status: this.order.status,
      filledQuantity: this.order.filledQuantity,
    });
  }

  /** Cancels at the venue (a cancel request, or the time in force running out). */
  private async cancelAtVenue(cancel: CancelState): Promise<void> {
    const previous = this.order.status;
    if (cancel.kind === 'CANCEL') await this.commit(this.acts.recordTransition, { ctx: cancel.ctx, to: 'PENDING_CANCEL', reason: cancel.reason });

    const result = await this.acts.cancelAtVenue(this.order.orderId);
    // The venue's answer lists every fill it made: apply any still in flight first.
    for (const fill of result.fills) await this.applyFill(this.report(fill, cancel.ctx));

    if (this.order.status === 'FILLED') {
      cancel.outcome = 'TOO_LATE';
    } else if (result.cancelled) {
      // The time in force may have run out while the cancel waited for the venue.
      if (cancel.kind === 'EXPIRE' || this.expired) {
        await this.finish('EXPIRED', `time in force ${this.order.timeInForce} expired at ${this.order.expireAt}`, cancel.ctx);
        cancel.outcome = cancel.kind === 'EXPIRE' ? 'CANCELLED' : 'EXPIRED';
      } else {
        await this.finish('CANCELLED', cancel.reason ?? 'cancelled on request', cancel.ctx);
        cancel.outcome = 'CANCELLED';
      }
    } else if ((result.reason === 'UNKNOWN_ORDER' || result.reason === 'ALREADY_CLOSED') && patched(VENUE_HOLDS_NOTHING_PATCH)) {
      // Nothing of the order is live at the venue (it lost it, or closed it without a
      // fill): it can never fill, so it ends here and releases what it holds, instead
      // of going back to a status that waits for fills that cannot come.
      const why = `the venue holds nothing of the order (${result.reason})`;
      if (cancel.kind === 'EXPIRE' || this.expired) {
        await this.finish('EXPIRED', `time in force ${this.order.timeInForce} expired at ${this.order.expireAt}; ${why}`, cancel.ctx);
        cancel.outcome = cancel.kind === 'EXPIRE' ? 'CANCELLED' : 'EXPIRED';
      } else {
        await this.finish('CANCELLED', `${cancel.reason ?? 'cancelled on request'}; ${why}`, cancel.ctx);
        cancel.outcome = 'CANCELLED';
      }
    } else {
      // The venue refused: the order returns to where it was.
      const back: OrderStatus = dec(this.order.filledQuantity).isZero() ? 'ACCEPTED' : 'PARTIALLY_FILLED';
      log.warn('venue refused cancel', { orderId: this.order.orderId, reason: result.reason, previous });
      if (this.order.status !== back) await this.commit(this.acts.recordTransition, { ctx: cancel.ctx, to: back, reason: `cancel refused: ${result.reason}` });
      cancel.outcome = 'TOO_LATE';
      // An expiry the venue refused is tried again: the order must not stay live past
      // its time in force with nothing left to end it.
      if (cancel.kind === 'EXPIRE' && patched(VENUE_HOLDS_NOTHING_PATCH)) {
        this.startExpiryTimer(new Date(Date.now() + EXPIRY_RETRY_MS).toISOString());
      }
    }
  }

  private startExpiryTimer(expireAt: string): void {
    const ms = Math.max(1, Date.parse(expireAt) - Date.now());
    void this.expiryScope
      .run(() => sleep(ms))
      .then(
        () => {
          this.expired = true;
        },
        (err) => {
          if (!isCancellation(err)) throw err;
        },
      );
  }

  /** REJECTED before anything was locked or submitted. */
  private async reject(reason: string): Promise<void> {
    await this.finish('REJECTED', reason, this.placed);
  }

  /** Moves to a terminal status, releasing what the order still holds (idempotent). */
  private async finish(to: 'REJECTED' | 'CANCELLED' | 'EXPIRED', reason: string, ctx: EventContext): Promise<void> {
    const o = this.order;
    const postings = o.lockedAsset ? releasePostings(o.accountId, o.lockedAsset, o.lockedAmount) : [];
    await this.commit(this.acts.recordTransition, { ctx, to, reason, postings, ledgerKind: postings.length ? 'RELEASE' : null }, (next) => {
      next.leavesQuantity = '0';
      next.lockedAmount = '0';
      if (to === 'REJECTED') next.rejectReason = reason;
      else next.cancelReason = reason;
    });
    this.decided = true;
  }

  /** The next version of `base`, and the commit that makes it durable (nothing committed yet). */
  private prepare(base: OrderSnapshot, opts: CommitOptions, mutate?: (next: OrderSnapshot) => void): Prepared {
    const next: OrderSnapshot = { ...base, fills: base.fills, version: base.version + 1, updatedAt: new Date().toISOString() };
    const isCreation = base.version === 0;
    if (opts.to && !isCreation) {
      assertTransition(base.status, opts.to);
      next.status = opts.to;
    }
    mutate?.(next);
    const { fills: _fills, ...order } = next;
    const commit: OrderCommit = {
      order,
      workflowId: this.workflowId,
      transition: opts.to ? { from: isCreation ? null : base.status, to: next.status, reason: opts.reason ?? null } : null,
      postings: opts.postings ?? [],
      ledgerKind: opts.ledgerKind ?? null,
      fill: opts.fill ?? null,
      context: opts.ctx,
    };
    return { next, commit };
  }

  /**
   * Builds the next version of the order, commits it with the given activity (with a
   * creation still to commit: both, with admitOrder) and only then makes it the
   * current state (and upserts the search attributes).
   */
  private async commit(activity: (commit: OrderCommit) => Promise<void>, opts: CommitOptions, mutate?: (next: OrderSnapshot) => void): Promise<void> {
    const prev = this.order;
    const creation = this.creation;
    const step = this.prepare(creation ? creation.next : prev, opts, mutate);
    if (creation) await this.acts.admitOrder([creation.commit, step.commit]);
    else await activity(step.commit);
    this.creation = null;
    this.order = step.next;
    if (prev.version === 0) {
      upsertSearchAttributes([
        { key: OrderSearchAttributes.status, value: step.next.status },
        { key: OrderSearchAttributes.accountId, value: step.next.accountId },
        { key: OrderSearchAttributes.symbol, value: step.next.symbol },
        { key: OrderSearchAttributes.side, value: step.next.side },
      ]);
    } else if (step.next.status !== prev.status) {
      upsertSearchAttributes([{ key: OrderSearchAttributes.status, value: step.next.status }]);
    }
  }
}

export async function orderWorkflow(input: OrderWorkflowInput): Promise<OrderSnapshot> {
  const order = new OrderProcess(input);
  order.registerHandlers();
  const result = await order.run();
  await condition(allHandlersFinished);
  return result;
}
