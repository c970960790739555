/**
 * Workflow unit tests: the order workflow (the prebuilt bundle, as production runs
 * it) with MOCKED activities — in-memory functions that record every call — so the
 * time-driven paths (GTD/DAY expiry, a cancel racing the expiry timer, retries of a
 * failing activity) and the decisions the workflow makes on its own are tested
 * without a database or a venue, in about a second each.
 *
 * No time skipping: the time-skipping test server cannot be downloaded here, so the
 * worker runs on the dev server global setup started (TEMPORAL_ADDRESS) and the
 * timers are real and short (expiry 1 s ahead). The retry test is the slowest,
 * ~2.2 s: the workflow's own retry policy (initialInterval 500ms, backoff 2) asks for
 * 0.5 s + 1 s between its 3 attempts, and the dev server has been seen to wait ~1 s
 * before each retry.
 *
 * Each order has its own id; the mocks key their log and their per-test behaviour
 * by it, so one worker serves every test of this file.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WithStartWorkflowOperation, type WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { Posting } from '../../domain/funds';
import type { Instrument } from '../../domain/instrument';
import type { PlaceOrderRequest } from '../../domain/order';
import type { VenueAck, VenueCancelResult } from '../../domain/venue';
import {
  applyFillUpdate,
  cancelOrderUpdate,
  getOrderQuery,
  OrderFailureTypes,
  ORDER_WORKFLOW_TYPE,
  orderWorkflowId,
  placeOrderUpdate,
  type OrderActivities,
  type OrderCommit,
  type OrderWorkflowInput,
  type PlaceOrderResult,
  type ValidatedOrder,
} from '../../workflows/order/definitions';
import type { orderWorkflow } from '../../workflows/order/workflow';

type ActivityName = keyof OrderActivities;

interface ActivityCall {
  name: ActivityName;
  /** The activity's (only) argument, as the workflow sent it. */
  input: unknown;
  /** Temporal's attempt number: > 1 is a retry. */
  attempt: number;
  /** When the attempt ran (epoch ms). */
  at: number;
}

const INSTRUMENT: Instrument = {
  symbol: 'BTC-USD',
  baseAsset: 'BTC',
  quoteAsset: 'USD',
  tickSize: '0.01',
  lotSize: '0.0001',
  minQuantity: '0.0001',
  feeRate: '0.001',
  active: true,
};

// ---- mocked activities -------------------------------------------------------

const calls = new Map<string, ActivityCall[]>();
const scripts = new Map<string, Partial<OrderActivities>>();

/** What the real activities would answer for an order that validates, locks and rests. */
const defaults: OrderActivities = {
  async recordOrder() {},
  async validateOrder({ request }): Promise<ValidatedOrder> {
    return { instrument: INSTRUMENT, lastPrice: null, marketOrderCollar: '0.05', expireAt: request.timeInForce === 'GTD' ? request.expireAt : null };
  },
  async lockFunds() {},
  async admitOrder() {},
  async submitToVenue(order): Promise<VenueAck> {
    return { status: 'RESTING', rejectReason: null, fills: [], remaining: order.quantity };
  },
  async settleFill() {},
  async reportFillRefused() {},
  async cancelAtVenue(): Promise<VenueCancelResult> {
    return { cancelled: true, reason: 'CANCELLED', fills: [], remaining: '0' };
  },
  async recordTransition() {},
};

/** Records the call under its order, then answers with the test's script or the default. */
function mocked<K extends ActivityName>(name: K, orderIdOf: (input: Parameters<OrderActivities[K]>[0]) => string): OrderActivities[K] {
  const activity = async (input: Parameters<OrderActivities[K]>[0]) => {
    const orderId = orderIdOf(input);
    if (!calls.has(orderId)) calls.set(orderId, []);
    calls.get(orderId)!.push({ name, input, attempt: Context.current().info.attempt, at: Date.now() });
    const impl = (scripts.get(orderId)?.[name] ?? defaults[name]) as (arg: typeof input) => Promise<unknown>;
    return impl(input);
  };
  return activity as unknown as OrderActivities[K];
}

const ofChange = (change: OrderCommit) => change.order.orderId;

const activities: OrderActivities = {
  recordOrder: mocked('recordOrder', ofChange),
  validateOrder: mocked('validateOrder', (i) => i.orderId),
  lockFunds: mocked('lockFunds', ofChange),
  admitOrder: mocked('admitOrder', (changes) => changes[0].order.orderId),
  submitToVenue: mocked('submitToVenue', (o) => o.orderId),
  settleFill: mocked('settleFill', ofChange),
  reportFillRefused: mocked('reportFillRefused', (i) => i.orderId),
  cancelAtVenue: mocked('cancelAtVenue', (orderId) => orderId),
  recordTransition: mocked('recordTransition', ofChange),
};

const callsOf = (orderId: string): ActivityCall[] => [...(calls.get(orderId) ?? [])];
const namesOf = (orderId: string): ActivityName[] => callsOf(orderId).map((c) => c.name);
const inputsOf = <T>(orderId: string, name: ActivityName): T[] =>
  callsOf(orderId)
    .filter((c) => c.name === name)
    .map((c) => c.input as T);

// ---- worker and client -------------------------------------------------------

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
const taskQueue = `order-workflow-unit-${randomUUID()}`;

// Each test takes a second or two; a stuck workflow should fail fast, not at the 120 s default.
jest.setTimeout(15_000);
const started: WorkflowHandle[] = [];

beforeAll(async () => {
  // As test/support/harness.ts: quiet, and no signal handlers in a Jest worker.
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  env = await TestWorkflowEnvironment.createFromExistingServer({ address: process.env.TEMPORAL_ADDRESS });
  worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace,
    taskQueue,
    workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE as string },
    activities,
    shutdownGraceTime: '1s',
  });
  running = worker.run();
});

afterAll(async () => {
  // A test that failed half way may leave its order open: end it before the worker goes.
  for (const handle of started) {
    const { status } = await handle.describe().catch(() => ({ status: { name: 'UNKNOWN' } }));
    if (status.name === 'RUNNING') await handle.terminate('test cleanup').catch(() => undefined);
  }
  if (worker) {
    worker.shutdown();
    await running;
  }
  await env?.teardown();
});

// ---- placing orders, as api/order-commands.ts does -------------------------------

interface Placed {
  orderId: string;
  correlationId: string;
  request: PlaceOrderRequest;
  handle: WorkflowHandle<typeof orderWorkflow>;
  /** The placeOrder update's answer: the order once validation and locking are decided. */
  result: PlaceOrderResult;
}

/** Update-with-Start of the order workflow with the placeOrder update; `script` overrides activities for this order. */
async function placeOrder(r: Partial<PlaceOrderRequest>, script: Partial<OrderActivities> = {}): Promise<Placed> {
  const o = await startOrder(r, script);
  return { ...o, result: await o.result };
}

/** As placeOrder, without waiting for the placing answer (it may come only after what the test does next). */
async function startOrder(r: Partial<PlaceOrderRequest>, script: Partial<OrderActivities> = {}): Promise<Omit<Placed, 'result'> & { result: Promise<PlaceOrderResult> }> {
  const orderId = randomUUID();
  const correlationId = `corr-${orderId.slice(0, 8)}`;
  const request: PlaceOrderRequest = {
    clientOrderId: `c-${orderId.slice(0, 8)}`,
    accountId: 'acc-unit',
    symbol: INSTRUMENT.symbol,
    side: 'BUY',
    type: 'LIMIT',
    quantity: '1',
    limitPrice: '100',
    timeInForce: 'GTC',
    expireAt: null,
    ...r,
  };
  scripts.set(orderId, script);
  const input: OrderWorkflowInput = { orderId, request, correlationId, traceId: null };
  const startWorkflowOperation = new WithStartWorkflowOperation<typeof orderWorkflow>(ORDER_WORKFLOW_TYPE, {
    workflowId: orderWorkflowId(orderId),
    taskQueue,
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
  });
  const pending = env.client.workflow.executeUpdateWithStart(placeOrderUpdate, { startWorkflowOperation });
  // Not startWorkflowOperation.workflowHandle(): that comes with the server's first
  // answer to the Update-with-Start, which waits for the placing update.
  const handle = env.client.workflow.getHandle<typeof orderWorkflow>(orderWorkflowId(orderId));
  for (let i = 0; !(await handle.describe().then(() => true, () => false)); i++) {
    if (i > 100) throw new Error(`order ${orderId} did not start`);
    await sleepMs(20);
  }
  started.push(handle);
  return { orderId, correlationId, request, handle, result: pending };
}

const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();
const sleepMs = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The order's ledger moves, as the workflow computes them (domain/funds.ts). */
function moves(kind: 'LOCK' | 'RELEASE', asset: string, amount: string): Posting[] {
  const from = kind === 'LOCK' ? 'available' : 'locked';
  const to = kind === 'LOCK' ? 'locked' : 'available';
  return [
    { book: 'customer', accountId: 'acc-unit', asset, bucket: from, amount: `-${amount}`, kind },
    { book: 'customer', accountId: 'acc-unit', asset, bucket: to, amount, kind },
  ];
}

// Validation first; then NEW and the lock committed together (one transaction).
const PLACED_AND_RESTING: ActivityName[] = ['validateOrder', 'admitOrder', 'submitToVenue', 'recordTransition'];
/** The versions one admitOrder call committed, in order. */
const admitted = (orderId: string, call = 0): OrderCommit[] => inputsOf<OrderCommit[]>(orderId, 'admitOrder')[call];

// ---- the tests ---------------------------------------------------------------------

describe('order workflow with mocked activities', () => {
  it('GTD: at expireAt cancels at the venue and ends EXPIRED, releasing the lock', async () => {
    const expireAt = inSeconds(1);
    const o = await placeOrder({ timeInForce: 'GTD', expireAt });
    // BUY 1 @ 100 locks 100 x (1 + fee 0.001).
    expect(o.result).toMatchObject({ created: true, order: { status: 'ACCEPTED', expireAt, lockedAsset: 'USD', lockedAmount: '100.1' } });
    expect(await o.handle.query(getOrderQuery)).toMatchObject({ status: 'ACCEPTED', expireAt });

    const done = await o.handle.result();
    expect(done).toMatchObject({ status: 'EXPIRED', leavesQuantity: '0', lockedAmount: '0', cancelReason: `time in force GTD expired at ${expireAt}` });
    expect(await o.handle.query(getOrderQuery)).toEqual(done);

    expect(namesOf(o.orderId)).toEqual([...PLACED_AND_RESTING, 'cancelAtVenue', 'recordTransition']);
    const [created, locked] = admitted(o.orderId);
    expect(created).toMatchObject({
      order: { version: 1, status: 'NEW' },
      transition: { from: null, to: 'NEW' },
      context: { correlationId: o.correlationId },
    });
    expect(inputsOf(o.orderId, 'validateOrder')).toEqual([{ orderId: o.orderId, request: o.request }]);
    expect(locked).toEqual(
      expect.objectContaining({
        postings: moves('LOCK', 'USD', '100.1'),
        ledgerKind: 'LOCK',
        transition: null,
        order: expect.objectContaining({ version: 2, expireAt, lockedAmount: '100.1' }),
      }),
    );
    expect(inputsOf(o.orderId, 'submitToVenue')).toEqual([
      { orderId: o.orderId, symbol: 'BTC-USD', side: 'BUY', type: 'LIMIT', timeInForce: 'GTD', quantity: '1', limitPrice: '100', protectionPrice: null },
    ]);
    expect(inputsOf(o.orderId, 'cancelAtVenue')).toEqual([o.orderId]);
    const [accepted, expired] = inputsOf<OrderCommit>(o.orderId, 'recordTransition');
    expect(accepted).toMatchObject({ transition: { from: 'NEW', to: 'ACCEPTED' }, postings: [] });
    expect(expired).toMatchObject({
      transition: { from: 'ACCEPTED', to: 'EXPIRED', reason: `time in force GTD expired at ${expireAt}` },
      postings: moves('RELEASE', 'USD', '100.1'),
      ledgerKind: 'RELEASE',
      order: { status: 'EXPIRED', lockedAmount: '0' },
      context: { causationId: `timer:${o.orderId}:expiry` },
    });
    // The timer fired at expireAt, not before.
    const cancelledAt = callsOf(o.orderId).find((c) => c.name === 'cancelAtVenue')!.at;
    expect(cancelledAt).toBeGreaterThanOrEqual(Date.parse(expireAt));
  });

  it('an expiry the venue answers with "unknown order" ends the order EXPIRED and releases the lock', async () => {
    const expireAt = inSeconds(1);
    const o = await placeOrder(
      { timeInForce: 'GTD', expireAt },
      { cancelAtVenue: async () => ({ cancelled: false, reason: 'UNKNOWN_ORDER', fills: [], remaining: '1' }) },
    );
    const done = await o.handle.result();
    expect(done).toMatchObject({ status: 'EXPIRED', lockedAmount: '0' });
    expect(done.cancelReason).toMatch(/the venue holds nothing of the order \(UNKNOWN_ORDER\)/);
    expect(inputsOf<OrderCommit>(o.orderId, 'recordTransition').at(-1)).toMatchObject({ postings: moves('RELEASE', 'USD', '100.1') });
  });

  it('an expiry the venue refuses is tried again until the venue confirms it', async () => {
    const expireAt = inSeconds(1);
    let refusals = 1;
    const o = await placeOrder(
      { timeInForce: 'GTD', expireAt },
      {
        async cancelAtVenue(orderId) {
          if (refusals-- > 0) return { cancelled: false, reason: 'REFUSED', fills: [], remaining: '1' };
          return defaults.cancelAtVenue(orderId);
        },
      },
    );
    const done = await o.handle.result();
    expect(done).toMatchObject({ status: 'EXPIRED', lockedAmount: '0' });
    const cancels = callsOf(o.orderId).filter((c) => c.name === 'cancelAtVenue');
    expect(cancels).toHaveLength(2);
    expect(cancels[1].at - cancels[0].at).toBeGreaterThanOrEqual(4_500);
  }, 20_000);

  it('a cancel the venue answers with "already closed" (no fill) ends the order CANCELLED', async () => {
    const o = await placeOrder({}, { cancelAtVenue: async () => ({ cancelled: false, reason: 'ALREADY_CLOSED', fills: [], remaining: '1' }) });
    const result = await o.handle.executeUpdate(cancelOrderUpdate, { args: [{ reason: 'changed my mind', correlationId: null }] });
    expect(result).toMatchObject({ outcome: 'CANCELLED', order: { status: 'CANCELLED', lockedAmount: '0' } });
    expect((await o.handle.result()).status).toBe('CANCELLED');
  });

  it('DAY: expires at the session close validateOrder computed, releasing the lock', async () => {
    const sessionClose = inSeconds(1);
    const o = await placeOrder(
      { side: 'SELL', quantity: '2', timeInForce: 'DAY', expireAt: null },
      { validateOrder: async () => ({ instrument: INSTRUMENT, lastPrice: null, marketOrderCollar: '0.05', expireAt: sessionClose }) },
    );
    // A SELL locks its quantity of the base asset; the order takes the session close as its expiry.
    expect(o.result.order).toMatchObject({ status: 'ACCEPTED', expireAt: sessionClose, lockedAsset: 'BTC', lockedAmount: '2' });

    const done = await o.handle.result();
    expect(done).toMatchObject({ status: 'EXPIRED', lockedAmount: '0', cancelReason: `time in force DAY expired at ${sessionClose}` });

    expect(namesOf(o.orderId)).toEqual([...PLACED_AND_RESTING, 'cancelAtVenue', 'recordTransition']);
    expect(admitted(o.orderId)[1]).toEqual(expect.objectContaining({ postings: moves('LOCK', 'BTC', '2'), ledgerKind: 'LOCK' }));
    expect(inputsOf(o.orderId, 'submitToVenue')).toEqual([expect.objectContaining({ side: 'SELL', timeInForce: 'DAY', quantity: '2' })]);
    expect(inputsOf<OrderCommit>(o.orderId, 'recordTransition')[1]).toMatchObject({
      transition: { from: 'ACCEPTED', to: 'EXPIRED' },
      postings: moves('RELEASE', 'BTC', '2'),
      ledgerKind: 'RELEASE',
    });
    expect(callsOf(o.orderId).find((c) => c.name === 'cancelAtVenue')!.at).toBeGreaterThanOrEqual(Date.parse(sessionClose));
  });

  it('a cancel before expiry wins: CANCELLED, and the expiry timer is cancelled, never fired', async () => {
    const expireAt = inSeconds(1);
    const o = await placeOrder({ timeInForce: 'GTD', expireAt });
    expect(o.result.order.status).toBe('ACCEPTED');
    expect(Date.now()).toBeLessThan(Date.parse(expireAt));

    const cancelled = await o.handle.executeUpdate(cancelOrderUpdate, { args: [{ reason: 'client asked', correlationId: 'corr-cancel', traceId: null }] });
    expect(cancelled).toMatchObject({ outcome: 'CANCELLED', order: { status: 'CANCELLED', cancelReason: 'client asked', lockedAmount: '0' } });
    expect(await o.handle.result()).toMatchObject({ status: 'CANCELLED', cancelReason: 'client asked' });

    const expected: ActivityName[] = [...PLACED_AND_RESTING, 'recordTransition', 'cancelAtVenue', 'recordTransition'];
    expect(namesOf(o.orderId)).toEqual(expected);
    const [, pending, done] = inputsOf<OrderCommit>(o.orderId, 'recordTransition');
    expect(pending).toMatchObject({ transition: { from: 'ACCEPTED', to: 'PENDING_CANCEL', reason: 'client asked' }, context: { causationId: 'corr-cancel' } });
    expect(done).toMatchObject({
      transition: { from: 'PENDING_CANCEL', to: 'CANCELLED', reason: 'client asked' },
      postings: moves('RELEASE', 'USD', '100.1'),
      ledgerKind: 'RELEASE',
    });

    // The history shows the expiry timer started and cancelled, never fired.
    const { events } = await o.handle.fetchHistory();
    const count = (key: 'timerStartedEventAttributes' | 'timerCanceledEventAttributes' | 'timerFiredEventAttributes') =>
      (events ?? []).filter((e) => e[key]).length;
    expect([count('timerStartedEventAttributes'), count('timerCanceledEventAttributes'), count('timerFiredEventAttributes')]).toEqual([1, 1, 0]);
    // And past expireAt nothing more happened.
    await sleepMs(Math.max(0, Date.parse(expireAt) - Date.now()) + 200);
    expect(namesOf(o.orderId)).toEqual(expected);
    expect((await o.handle.describe()).status.name).toBe('COMPLETED');
  });

  it('retries a failing activity (a plain Error) with the workflow retry policy and carries on', async () => {
    // Two failures, then success: 500 ms + 1 s of backoff (initialInterval 500ms, backoff 2).
    const o = await placeOrder(
      {},
      {
        async submitToVenue(order) {
          if (Context.current().info.attempt < 3) throw new Error('venue unavailable');
          return defaults.submitToVenue(order);
        },
      },
    );
    expect(o.result.order).toMatchObject({ status: 'ACCEPTED', lockedAmount: '100.1' });
    expect(namesOf(o.orderId)).toEqual(['validateOrder', 'admitOrder', 'submitToVenue', 'submitToVenue', 'submitToVenue', 'recordTransition']);

    const attempts = callsOf(o.orderId).filter((c) => c.name === 'submitToVenue');
    expect(attempts.map((c) => c.attempt)).toEqual([1, 2, 3]);
    // The same request each time (the venue call is idempotent by order id).
    expect(new Set(attempts.map((c) => JSON.stringify(c.input))).size).toBe(1);
    // The steps ran as local activities (markers, no regular activity tasks)...
    const { events } = await o.handle.fetchHistory();
    expect((events ?? []).filter((e) => e.activityTaskScheduledEventAttributes)).toEqual([]);
    // One marker per step that completed (validate, admit, submit, accept): retries leave none.
    expect((events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity').length).toBe(4);
    // ...and retried with the workflow's backoff (initialInterval 500ms, backoff 2; lower
    // bounds only: a retry never comes early, but may come later).
    expect(attempts[1].at - attempts[0].at).toBeGreaterThanOrEqual(450);
    expect(attempts[2].at - attempts[1].at).toBeGreaterThanOrEqual(950);
    // Nothing was recorded twice: the failed attempts committed nothing.
    expect(inputsOf(o.orderId, 'admitOrder')).toHaveLength(1);

    // Close the order.
    await o.handle.executeUpdate(cancelOrderUpdate, { args: [{ reason: null, correlationId: null }] });
    expect((await o.handle.result()).status).toBe('CANCELLED');
  });

  it('does not retry a business failure: a non-retryable OrderValidationError rejects the order, nothing is locked', async () => {
    const message = 'price 100.005 is not a multiple of the tick 0.01';
    const o = await placeOrder(
      { limitPrice: '100.005' },
      {
        async validateOrder() {
          throw ApplicationFailure.create({ type: OrderFailureTypes.validation, message, nonRetryable: true, details: [{ code: 'INVALID_TICK', message }], category: 'BENIGN' });
        },
      },
    );
    expect(o.result.order).toMatchObject({ status: 'REJECTED', rejectReason: `INVALID_TICK: ${message}`, lockedAmount: '0', lockedAsset: null });
    expect(await o.handle.result()).toMatchObject({ status: 'REJECTED', rejectReason: `INVALID_TICK: ${message}` });

    expect(namesOf(o.orderId)).toEqual(['validateOrder', 'admitOrder']);
    expect(callsOf(o.orderId).find((c) => c.name === 'validateOrder')!.attempt).toBe(1);
    // NEW and REJECTED in one commit.
    expect(admitted(o.orderId)).toEqual([
      expect.objectContaining({ order: expect.objectContaining({ version: 1, status: 'NEW' }), transition: { from: null, to: 'NEW', reason: null } }),
      expect.objectContaining({ transition: { from: 'NEW', to: 'REJECTED', reason: `INVALID_TICK: ${message}` }, postings: [], ledgerKind: null }),
    ]);
  });

  it('an amount the domain cannot hold ends the order REJECTED, not in a workflow task retried forever', async () => {
    // As if validation had let it through: 10^12 x 10^9 overflows the lock's 20 integer digits.
    const o = await placeOrder({ quantity: '1000000000000', limitPrice: '1000000000' });
    expect(o.result.order).toMatchObject({ status: 'REJECTED', lockedAmount: '0' });
    expect(o.result.order.rejectReason).toMatch(/^INVALID_AMOUNT: /);
    expect(namesOf(o.orderId)).toEqual(['validateOrder', 'admitOrder']);
    expect(admitted(o.orderId).map((c) => c.transition?.to)).toEqual(['NEW', 'REJECTED']);
    expect((await o.handle.result()).status).toBe('REJECTED');
  });

  it('funds that do not cover the lock: nothing of the admission is committed, then NEW and REJECTED are, in one commit', async () => {
    const o = await placeOrder(
      {},
      {
        async admitOrder(changes) {
          if (changes.some((c) => c.ledgerKind === 'LOCK')) {
            throw ApplicationFailure.create({ type: OrderFailureTypes.insufficientFunds, message: 'USD: 100.1 required, 5 available', nonRetryable: true, category: 'BENIGN' });
          }
        },
      },
    );
    expect(o.result.order).toMatchObject({ status: 'REJECTED', lockedAmount: '0', lockedAsset: null, version: 2 });
    expect(o.result.order.rejectReason).toBe('INSUFFICIENT_FUNDS: USD: 100.1 required, 5 available');
    expect(namesOf(o.orderId)).toEqual(['validateOrder', 'admitOrder', 'admitOrder']);
    expect(admitted(o.orderId, 0).map((c) => [c.order.version, c.ledgerKind])).toEqual([[1, null], [2, 'LOCK']]);
    expect(admitted(o.orderId, 1).map((c) => [c.order.version, c.transition?.to])).toEqual([[1, 'NEW'], [2, 'REJECTED']]);
    expect((await o.handle.result()).status).toBe('REJECTED');
  });

  it('a venue down at submission: retried until the deadline, then the venue closes the id and the order ends REJECTED, its lock released', async () => {
    const submitBy = inSeconds(1.5);
    const o = await placeOrder(
      {},
      {
        validateOrder: async ({ request }) => ({ ...(await defaults.validateOrder({ orderId: '', request })), submitBy }),
        async submitToVenue() {
          throw new Error('venue unavailable');
        },
        cancelAtVenue: async () => ({ cancelled: false, reason: 'UNKNOWN_ORDER', fills: [], remaining: '0' }),
      },
    );
    const reason = `VENUE_UNAVAILABLE: not submitted to the venue by ${submitBy}`;
    expect(o.result.order).toMatchObject({ status: 'REJECTED', rejectReason: reason, lockedAmount: '0' });
    const names = namesOf(o.orderId);
    // Submission retried (500 ms, 1 s...) until the deadline, never after it; then the venue is asked.
    expect(names.filter((n) => n === 'submitToVenue').length).toBeGreaterThanOrEqual(2);
    expect(names.slice(-2)).toEqual(['cancelAtVenue', 'recordTransition']);
    const submits = callsOf(o.orderId).filter((c) => c.name === 'submitToVenue');
    expect(submits[submits.length - 1].at).toBeLessThanOrEqual(Date.parse(submitBy));
    expect(inputsOf<OrderCommit>(o.orderId, 'recordTransition')).toEqual([
      expect.objectContaining({ transition: { from: 'NEW', to: 'REJECTED', reason }, postings: moves('RELEASE', 'USD', '100.1'), ledgerKind: 'RELEASE' }),
    ]);
    expect((await o.handle.result()).status).toBe('REJECTED');
  });

  it('past the deadline, a venue that holds the order and refuses to cancel it: the order works after all (ACCEPTED)', async () => {
    const o = await placeOrder(
      {},
      {
        validateOrder: async ({ request }) => ({ ...(await defaults.validateOrder({ orderId: '', request })), submitBy: inSeconds(1) }),
        async submitToVenue() {
          throw new Error('no answer from the venue');
        },
        cancelAtVenue: async () => ({ cancelled: false, reason: 'REFUSED', fills: [], remaining: '1' }),
      },
    );
    expect(o.result.order).toMatchObject({ status: 'ACCEPTED', lockedAmount: '100.1' });
    expect(inputsOf<OrderCommit>(o.orderId, 'recordTransition')).toEqual([expect.objectContaining({ transition: { from: 'NEW', to: 'ACCEPTED', reason: null } })]);
    await o.handle.executeUpdate(cancelOrderUpdate, { args: [{ reason: null, correlationId: null }] });
  });

  it('a cancel while NEW, between two submission attempts to a venue that is down: CANCELLED once the venue closes the id', async () => {
    const o = await startOrder(
      {},
      {
        validateOrder: async ({ request }) => ({ ...(await defaults.validateOrder({ orderId: '', request })), submitBy: inSeconds(30) }),
        async submitToVenue() {
          throw new Error('venue unavailable');
        },
        cancelAtVenue: async () => ({ cancelled: false, reason: 'UNKNOWN_ORDER', fills: [], remaining: '0' }),
      },
    );
    await sleepMs(300);
    // Before this change a cancel while NEW was refused ("not yet accepted by the venue").
    const cancelled = await o.handle.executeUpdate(cancelOrderUpdate, { args: [{ reason: 'changed my mind', correlationId: 'corr-early' }] });
    expect(cancelled).toMatchObject({ outcome: 'CANCELLED', order: { status: 'CANCELLED', cancelReason: 'changed my mind', lockedAmount: '0' } });
    expect((await o.result).order.status).toBe('CANCELLED');
    const names = namesOf(o.orderId);
    expect(names.slice(0, 3)).toEqual(['validateOrder', 'admitOrder', 'submitToVenue']);
    expect(names.slice(-2)).toEqual(['cancelAtVenue', 'recordTransition']);
    expect(inputsOf<OrderCommit>(o.orderId, 'recordTransition')).toEqual([
      expect.objectContaining({
        transition: { from: 'NEW', to: 'CANCELLED', reason: 'changed my mind' },
        postings: moves('RELEASE', 'USD', '100.1'),
        context: expect.objectContaining({ causationId: 'corr-early' }),
      }),
    ]);
    expect((await o.handle.result()).status).toBe('CANCELLED');
  });

  // A running local activity holds the workflow task, so a cancel sent meanwhile waits
  // for it; the attempt never outlives the submission deadline.
  it('a submission that hangs is cut off at the deadline: the venue closes the id, REJECTED; a cancel sent meanwhile gets that answer', async () => {
    const o = await startOrder(
      {},
      {
        validateOrder: async ({ request }) => ({ ...(await defaults.validateOrder({ orderId: '', request })), submitBy: inSeconds(2) }),
        async submitToVenue() {
          await Context.current().sleep(19_000); // the venue hangs (the attempt's timeout cancels the sleep)
          throw new Error('unreachable');
        },
        cancelAtVenue: async () => ({ cancelled: false, reason: 'UNKNOWN_ORDER', fills: [], remaining: '0' }),
      },
    );
    await sleepMs(500);
    const cancelled = await o.handle.executeUpdate(cancelOrderUpdate, { args: [{ reason: null, correlationId: null }] });
    expect(cancelled).toMatchObject({ outcome: 'TOO_LATE', order: { status: 'REJECTED', lockedAmount: '0' } });
    expect((await o.result).order.rejectReason).toMatch(/^VENUE_UNAVAILABLE: /);
    expect(namesOf(o.orderId)).toEqual(['validateOrder', 'admitOrder', 'submitToVenue', 'cancelAtVenue', 'recordTransition']);
    expect(inputsOf<OrderCommit>(o.orderId, 'recordTransition')).toEqual([
      expect.objectContaining({ transition: expect.objectContaining({ from: 'NEW', to: 'REJECTED' }), postings: moves('RELEASE', 'USD', '100.1') }),
    ]);
  });

  it('a fill that cannot be settled against the lock is refused and reported, and the order keeps working', async () => {
    const o = await placeOrder({});
    // A BUY limit 100 filled at 101: it would cost more than the lock holds for it.
    const bad = { tradeId: 't-dear', quantity: '1', price: '101', executedAt: new Date().toISOString(), correlationId: 'corr-tick' };
    const refused = await o.handle.executeUpdate(applyFillUpdate, { args: [bad] });
    expect(refused).toMatchObject({ outcome: 'REFUSED', status: 'ACCEPTED', filledQuantity: '0' });
    expect(refused.reason).toMatch(/^unsettleable fill: /);
    expect(inputsOf(o.orderId, 'reportFillRefused')).toEqual([expect.objectContaining({ fill: { tradeId: 't-dear', quantity: '1', price: '101' } })]);
    const ok = await o.handle.executeUpdate(applyFillUpdate, { args: [{ ...bad, tradeId: 't-ok', price: '100' }] });
    expect(ok).toMatchObject({ outcome: 'APPLIED', status: 'FILLED' });
  });

  it('refuses an over-fill and reports it once; a later valid fill still applies', async () => {
    const o = await placeOrder({});
    const overFill = { tradeId: 't-over', quantity: '1.5', price: '100', executedAt: new Date().toISOString(), correlationId: 'corr-tick' };
    const reason = 'over-fill: 1.5 exceeds the 1 left of 1';

    const refused = await o.handle.executeUpdate(applyFillUpdate, { args: [overFill] });
    expect(refused).toEqual({ tradeId: 't-over', outcome: 'REFUSED', reason, status: 'ACCEPTED', filledQuantity: '0' });
    // Delivered again (a redelivery): the same answer, not a second report.
    expect(await o.handle.executeUpdate(applyFillUpdate, { args: [overFill] })).toEqual(refused);
    expect(await o.handle.query(getOrderQuery)).toMatchObject({ status: 'ACCEPTED', filledQuantity: '0', lockedAmount: '100.1', fills: [] });

    expect(namesOf(o.orderId)).toEqual([...PLACED_AND_RESTING, 'reportFillRefused']);
    expect(inputsOf(o.orderId, 'reportFillRefused')).toEqual([
      {
        orderId: o.orderId,
        fill: { tradeId: 't-over', quantity: '1.5', price: '100' },
        reason,
        context: { correlationId: 'corr-tick', causationId: 'trade:t-over', traceId: null },
      },
    ]);

    const filled = await o.handle.executeUpdate(applyFillUpdate, { args: [{ ...overFill, tradeId: 't-ok', quantity: '1' }] });
    expect(filled).toMatchObject({ outcome: 'APPLIED', status: 'FILLED', filledQuantity: '1' });
    expect(await o.handle.result()).toMatchObject({ status: 'FILLED', filledQuantity: '1', lockedAmount: '0', fills: [expect.objectContaining({ tradeId: 't-ok' })] });
    expect(namesOf(o.orderId)).toEqual([...PLACED_AND_RESTING, 'reportFillRefused', 'settleFill']);
    expect(inputsOf(o.orderId, 'settleFill')).toEqual([
      expect.objectContaining({ transition: { from: 'ACCEPTED', to: 'FILLED', reason: null }, ledgerKind: 'FILL', fill: expect.objectContaining({ tradeId: 't-ok' }) }),
    ]);
  });
});
