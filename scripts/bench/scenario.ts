/**
 * The order path, black box through the HTTP API: accounts (operator key) with
 * deposits, resting LIMIT BUYs placed under the chosen load, one market tick that
 * crosses the ones meant to fill, then until when the portfolio subscriber applied
 * those fills, how long events took to reach every subscriber, and whether every
 * account's money is exactly what the fills imply.
 *
 * Two shapes: every order fills (the main run), or a deep book of resting orders of
 * which a tick fills a slice (`--resting`): those meant to fill rest above the tick
 * price, the others below it, so exactly that slice crosses.
 */
import { dec, str, type Decimal } from '../../domain/decimal';
import type { BenchDatabase, EventLag } from './database';
import { ApiError, type ApiClient } from './http';
import { drive, forEachLimited, type Load, type LoadResult } from './load';
import type { Progress } from './progress';
import { perSecond } from './stats';

export interface ScenarioContext {
  api: ApiClient;
  operatorKey: string;
  db: BenchDatabase | null;
  progress: Progress;
  /** Run-unique, in every name, clientOrderId and reference the run makes. */
  tag: string;
  symbol: string;
  warmup: number;
  /** The system is the benchmark's own (dropped afterwards): nothing to tidy on it. */
  ownSystem: boolean;
  /** Called once placement is over, before the tick (e.g. a memory sample). */
  afterPlacement?: () => void;
  signal?: AbortSignal;
}

export interface ScenarioPlan {
  orders: number;
  accounts: number;
  load: Load;
  /** Orders the tick fills (all of them in the main run). */
  fills: number;
}

interface Instrument {
  symbol: string;
  baseAsset: string;
  quoteAsset: string;
  tickSize: string;
  minQuantity: string;
  feeRate: string;
}

interface Account {
  id: string;
  key: string;
  deposit: Decimal;
}

interface PlannedOrder {
  clientOrderId: string;
  account: Account;
  quantity: Decimal;
  limitPrice: Decimal;
  /** Meant to cross the tick. */
  fills: boolean;
  warm: boolean;
  orderId: string | null;
  status: string | null;
  /** The HTTP status of the placing answer (202: not decided within the API's acknowledgement timeout). */
  answer: number | null;
}

interface VenueFill {
  tradeId: string;
  orderId: string;
  quantity: string;
  price: string;
}

export interface MoneyCheck {
  accounts: number;
  exact: number;
  mismatches: Array<{ accountId: string; asset: string; field: 'available' | 'locked'; expected: string; actual: string }>;
}

export interface FillsAppliedFigures {
  source: 'database' | 'portfolio';
  expected: number;
  applied: number;
  /** From the tick's request until the last fill was applied. */
  ms: number | null;
  perSecond: number | null;
  /** When each was applied, ms after the tick (database source only). */
  appliedMs: number[];
}

export interface ScenarioResult {
  orders: number;
  accounts: number;
  placement: LoadResult;
  /** Placing answers by HTTP status, and the orders' statuses once decided (before the tick). */
  answers: Record<string, number>;
  statuses: Record<string, number>;
  tick: { price: string; requestMs: number; matched: number; ours: number };
  fillsApplied: FillsAppliedFigures;
  eventLag: EventLag | null;
  money: MoneyCheck;
}

/** Limits and the tick price, in ticks of the instrument above and below a round price. */
const LIMIT = dec(100);
const BELOW_TICK = dec(98);
const TICK = dec(99);

async function instrumentOf(api: ApiClient, symbol: string): Promise<Instrument> {
  const { body } = await api.ok<{ instruments: Instrument[] }>('GET', '/instruments', null);
  const found = body.instruments.find((i) => i.symbol === symbol);
  if (!found) throw new Error(`the system has no instrument ${symbol} (it has ${body.instruments.map((i) => i.symbol).join(', ')})`);
  return found;
}

/** What an order locks per unit: a BUY locks quantity x limit x (1 + feeRate) of the quote asset. */
const lockOf = (o: PlannedOrder, feeRate: Decimal): Decimal => o.quantity.times(o.limitPrice).times(feeRate.plus(1));

export async function runScenario(ctx: ScenarioContext, plan: ScenarioPlan): Promise<ScenarioResult> {
  const { api, progress } = ctx;
  const instrument = await instrumentOf(api, ctx.symbol);
  const feeRate = dec(instrument.feeRate);
  const quantity = dec(instrument.minQuantity).times(100);
  const since = ctx.db ? await ctx.db.now() : null;

  // Which orders fill: `fills` of them, spread evenly over the run (so also over time and accounts).
  const fillsAt = (i: number): boolean => Math.floor(((i + 1) * plan.fills) / plan.orders) > Math.floor((i * plan.fills) / plan.orders);
  const accounts = await createAccounts(ctx, plan.accounts + (ctx.warmup > 0 ? 1 : 0));
  const warmAccount = ctx.warmup > 0 ? (accounts.pop() as Account) : null;
  const orders: PlannedOrder[] = Array.from({ length: plan.orders }, (_, i) => ({
    clientOrderId: `${ctx.tag}-${i}`,
    account: accounts[i % accounts.length],
    quantity,
    limitPrice: fillsAt(i) ? LIMIT : BELOW_TICK,
    fills: fillsAt(i),
    warm: false,
    orderId: null,
    status: null,
    answer: null,
  }));
  // Warm-up orders rest below the tick and are cancelled before it: connections and caches are warm, the counts stay clean.
  const warm: PlannedOrder[] = Array.from({ length: warmAccount ? ctx.warmup : 0 }, (_, i) => ({
    ...orders[0],
    clientOrderId: `${ctx.tag}-warm-${i}`,
    account: warmAccount as Account,
    limitPrice: BELOW_TICK,
    fills: false,
    warm: true,
  }));
  const all = [...orders, ...warm];
  await deposit(ctx, [...accounts, ...(warmAccount ? [warmAccount] : [])], all, instrument, feeRate);

  // An earlier tick's leftover liquidity would fill these orders on arrival instead of letting them rest.
  await tick(ctx, LIMIT.plus(1), '0');

  const place = (o: PlannedOrder) => placeOrder(api, ctx.symbol, o);
  await forEachLimited(warm, 2, place);
  await forEachLimited(warm, 2, async (o) => {
    await api.idempotent('POST', `/orders/${o.orderId}/cancel`, o.account.key, { reason: 'benchmark warm-up' });
  });

  const placement = await drive(plan.orders, plan.load, (i) => place(orders[i]), progress, 'placement', ctx.signal);
  if (ctx.signal?.aborted) throw new Error('interrupted');
  const count = (key: (o: PlannedOrder) => string): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const o of orders) out[key(o)] = (out[key(o)] ?? 0) + 1;
    return out;
  };
  const answers = count((o) => String(o.answer ?? 'failed'));
  await recoverFailed(ctx, orders);
  await untilDecided(ctx, orders);
  ctx.afterPlacement?.();
  const statuses = count((o) => o.status ?? 'UNKNOWN');

  const tickAt = ctx.db ? await ctx.db.now() : null;
  const t0 = performance.now();
  const fills = await tick(ctx, TICK, null);
  const requestMs = performance.now() - t0;
  const byOrder = new Map(all.filter((o) => o.orderId).map((o) => [o.orderId as string, o]));
  const ours = fills.filter((f) => byOrder.has(f.orderId));

  const fillsApplied = ctx.db && tickAt ? await fillsFromDatabase(ctx, ctx.db, ours, tickAt) : await fillsFromPortfolio(ctx, ours, byOrder, t0);
  let eventLag: EventLag | null = null;
  if (ctx.db && since) eventLag = await lagOf(ctx, ctx.db, since);
  const money = await checkMoney(ctx, [...accounts, ...(warmAccount ? [warmAccount] : [])], all, ours, byOrder, instrument, feeRate);

  if (!ctx.ownSystem) await tidy(ctx, all);
  return {
    orders: plan.orders,
    accounts: plan.accounts,
    placement,
    answers,
    statuses,
    tick: { price: str(TICK), requestMs: Math.round(requestMs), matched: fills.length, ours: ours.length },
    fillsApplied,
    eventLag,
    money,
  };
}

async function createAccounts(ctx: ScenarioContext, n: number): Promise<Account[]> {
  const accounts: Account[] = [];
  ctx.progress.start('accounts', n);
  await forEachLimited(
    Array.from({ length: n }, (_, i) => i),
    16,
    async (i) => {
      const { body } = await ctx.api.ok<{ id: string; apiKey: string }>('POST', '/accounts', ctx.operatorKey, { name: `bench ${ctx.tag} ${i}` });
      accounts[i] = { id: body.id, key: body.apiKey, deposit: dec(0) };
    },
    (done) => ctx.progress.update(done),
  );
  ctx.progress.finish();
  return accounts;
}

/** Each account gets what its orders lock, rounded up to a whole unit, plus 10 (so a leak shows as a wrong balance, not a refusal). */
async function deposit(ctx: ScenarioContext, accounts: Account[], orders: PlannedOrder[], instrument: Instrument, feeRate: Decimal): Promise<void> {
  const needed = new Map<Account, Decimal>();
  for (const o of orders) needed.set(o.account, (needed.get(o.account) ?? dec(0)).plus(lockOf(o, feeRate)));
  ctx.progress.start('deposits', accounts.length);
  await forEachLimited(
    accounts,
    16,
    async (a, i) => {
      a.deposit = (needed.get(a) ?? dec(0)).ceil().plus(10);
      await ctx.api.idempotent('POST', `/accounts/${a.id}/deposits`, ctx.operatorKey, { asset: instrument.quoteAsset, amount: str(a.deposit), reference: `${ctx.tag}-dep-${i}` });
    },
    (done) => ctx.progress.update(done),
  );
  ctx.progress.finish();
}

async function placeOrder(api: ApiClient, symbol: string, o: PlannedOrder, attempts?: number): Promise<void> {
  const { status, body } = await api.idempotent<{ orderId: string; status: string; rejectReason?: string | null }>('POST', '/orders', o.account.key, {
    clientOrderId: o.clientOrderId,
    accountId: o.account.id,
    symbol,
    side: 'BUY',
    type: 'LIMIT',
    quantity: str(o.quantity),
    limitPrice: str(o.limitPrice),
    timeInForce: 'GTC',
  }, attempts);
  o.orderId = body.orderId;
  o.status = body.status;
  o.answer = status;
  // 202: not decided within the API's acknowledgement timeout; untilDecided() follows it up.
  if (status !== 202 && body.status !== 'ACCEPTED') throw new Error(`order ${o.clientOrderId} is ${body.status}: ${body.rejectReason ?? ''}`);
}

/**
 * A placement that failed within the measured phase (counted there) may still have
 * created its order: the same request again (idempotent by clientOrderId) finds out,
 * as a client would, so that the tick's fills and the money check know every order.
 */
async function recoverFailed(ctx: ScenarioContext, orders: PlannedOrder[]): Promise<void> {
  const failed = orders.filter((o) => !o.orderId);
  if (failed.length === 0) return;
  ctx.progress.start('failed placements, asked again', failed.length);
  await forEachLimited(
    failed,
    4,
    (o) => placeOrder(ctx.api, ctx.symbol, o, 8).catch(() => undefined),
    (done) => ctx.progress.update(done),
  );
  ctx.progress.finish(`${failed.filter((o) => o.orderId).length} found`);
}

/**
 * Orders answered 202 (not decided within the API's acknowledgement timeout, e.g. an
 * open loop faster than the system) are followed until decided, so that the tick finds
 * every order resting; it gives up when none got decided for two minutes.
 */
async function untilDecided(ctx: ScenarioContext, orders: PlannedOrder[]): Promise<void> {
  const deciding = orders.filter((o) => o.orderId && o.status === 'NEW');
  let waiting = deciding;
  if (waiting.length === 0) return;
  ctx.progress.start('orders still deciding', deciding.length);
  let lastChange = Date.now();
  while (waiting.length > 0 && Date.now() - lastChange < 120_000 && !ctx.signal?.aborted) {
    await new Promise((r) => setTimeout(r, 500));
    await forEachLimited(waiting, 8, async (o) => {
      // 404: a 202 answered from the server's record of the workflow, not recorded yet.
      const { status, body } = await ctx.api.request<{ status: string }>('GET', `/orders/${o.orderId}`, o.account.key);
      if (status === 404) return;
      if (status !== 200) throw new Error(`GET /orders/${o.orderId} answered ${status}: ${JSON.stringify(body).slice(0, 300)}`);
      o.status = body.status;
    });
    const still = waiting.filter((o) => o.status === 'NEW');
    if (still.length < waiting.length) lastChange = Date.now();
    waiting = still;
    ctx.progress.update(deciding.length - waiting.length);
  }
  ctx.progress.finish();
}

async function tick(ctx: ScenarioContext, price: Decimal, liquidity: string | null): Promise<VenueFill[]> {
  const { body } = await ctx.api.ok<{ fills: VenueFill[] }>('POST', '/market/ticks', ctx.operatorKey, { symbol: ctx.symbol, price: str(price), liquidity });
  return body.fills;
}

function applied(expected: number, count: number, ms: number | null, appliedMs: number[], source: FillsAppliedFigures['source']): FillsAppliedFigures {
  return { source, expected, applied: count, ms: ms === null ? null : Math.round(ms), perSecond: ms === null ? null : perSecond(count, ms), appliedMs };
}

/** Polls the portfolio subscriber's processed events until every fill of the tick was applied (or progress stalls for a minute). */
async function fillsFromDatabase(ctx: ScenarioContext, db: BenchDatabase, fills: VenueFill[], tickAt: string): Promise<FillsAppliedFigures> {
  const tradeIds = fills.map((f) => f.tradeId);
  ctx.progress.start('fills applied', fills.length);
  let count = 0;
  let lastChange = Date.now();
  while (count < fills.length && Date.now() - lastChange < 60_000 && !ctx.signal?.aborted) {
    // The figure comes from processed_at, not from this polling: poll gently.
    await new Promise((r) => setTimeout(r, 500));
    const n = await db.countFillsApplied(tradeIds, tickAt);
    if (n !== count) lastChange = Date.now();
    count = n;
    ctx.progress.update(count, 'portfolio subscriber');
  }
  ctx.progress.finish();
  const figures = await db.fillsApplied(tradeIds, tickAt);
  return applied(fills.length, figures.count, figures.lastMs, figures.appliedMs, 'database');
}

/**
 * Black box: polls each account's portfolio until its position shows everything it
 * bought; the time is when the last account was seen complete (so it includes up to
 * one polling round).
 */
async function fillsFromPortfolio(ctx: ScenarioContext, fills: VenueFill[], byOrder: Map<string, PlannedOrder>, t0: number): Promise<FillsAppliedFigures> {
  const want = new Map<Account, { qty: Decimal; fills: number }>();
  for (const f of fills) {
    const a = (byOrder.get(f.orderId) as PlannedOrder).account;
    const w = want.get(a) ?? { qty: dec(0), fills: 0 };
    want.set(a, { qty: w.qty.plus(dec(f.quantity)), fills: w.fills + 1 });
  }
  let waiting = [...want.keys()];
  let count = 0;
  let lastAt: number | null = null;
  let lastChange = Date.now();
  ctx.progress.start('fills applied', fills.length);
  while (waiting.length > 0 && Date.now() - lastChange < 60_000 && !ctx.signal?.aborted) {
    const still: Account[] = [];
    await forEachLimited(waiting, 8, async (a) => {
      const { body } = await ctx.api.ok<{ positions: Array<{ symbol: string; netQuantity: string }> }>('GET', `/accounts/${a.id}/portfolio`, a.key);
      const position = body.positions.find((p) => p.symbol === ctx.symbol);
      const w = want.get(a) as { qty: Decimal; fills: number };
      // At least: an order of the account the run lost track of (a failed placement) may have filled too.
      if (position && dec(position.netQuantity).greaterThanOrEqualTo(w.qty)) {
        count += w.fills;
        lastAt = performance.now();
        lastChange = Date.now();
      } else still.push(a);
    });
    waiting = still;
    ctx.progress.update(count, 'portfolio (polled)');
    if (waiting.length > 0) await new Promise((r) => setTimeout(r, 200));
  }
  ctx.progress.finish();
  return applied(fills.length, count, lastAt === null ? null : lastAt - t0, [], 'portfolio');
}

/** Waits (at most a minute) until every event of the run reached all its subscribers, then measures. */
async function lagOf(ctx: ScenarioContext, db: BenchDatabase, since: string): Promise<EventLag> {
  const until = await db.now();
  const deadline = Date.now() + 60_000;
  while ((await db.unappliedEvents(since, until)) > 0 && Date.now() < deadline && !ctx.signal?.aborted) await new Promise((r) => setTimeout(r, 250));
  return db.eventLag(since, until);
}

/**
 * Every account's balances against what its orders and the tick's fills imply:
 * quote available = deposit - what open orders still lock - notional - fees; quote
 * locked = what open orders still lock (nothing, once every order filled); base =
 * the filled quantity, none locked. Fees at the instrument's rate, computed here.
 */
async function checkMoney(
  ctx: ScenarioContext,
  accounts: Account[],
  orders: PlannedOrder[],
  fills: VenueFill[],
  byOrder: Map<string, PlannedOrder>,
  instrument: Instrument,
  feeRate: Decimal,
): Promise<MoneyCheck> {
  const filled = new Map<PlannedOrder, Decimal>();
  const expect = new Map<Account, { quoteAvailable: Decimal; quoteLocked: Decimal; base: Decimal }>(
    accounts.map((a) => [a, { quoteAvailable: a.deposit, quoteLocked: dec(0), base: dec(0) }]),
  );
  for (const f of fills) {
    const o = byOrder.get(f.orderId) as PlannedOrder;
    const e = expect.get(o.account)!;
    const notional = dec(f.quantity).times(dec(f.price));
    e.quoteAvailable = e.quoteAvailable.minus(notional).minus(notional.times(feeRate));
    e.base = e.base.plus(dec(f.quantity));
    filled.set(o, (filled.get(o) ?? dec(0)).plus(dec(f.quantity)));
  }
  for (const o of orders) {
    // Open: accepted and still resting; warm-up orders were cancelled, failed ones never locked.
    if (o.warm || o.status !== 'ACCEPTED') continue;
    const e = expect.get(o.account)!;
    const left = o.quantity.minus(filled.get(o) ?? dec(0)).times(o.limitPrice).times(feeRate.plus(1));
    e.quoteAvailable = e.quoteAvailable.minus(left);
    e.quoteLocked = e.quoteLocked.plus(left);
  }

  const result: MoneyCheck = { accounts: accounts.length, exact: 0, mismatches: [] };
  ctx.progress.start('money check', accounts.length);
  await forEachLimited(
    accounts,
    16,
    async (a) => {
      const { body } = await ctx.api.ok<{ balances: Array<{ asset: string; available: string; locked: string }> }>('GET', `/accounts/${a.id}`, a.key);
      const e = expect.get(a)!;
      const wanted: Array<[string, 'available' | 'locked', Decimal]> = [
        [instrument.quoteAsset, 'available', e.quoteAvailable],
        [instrument.quoteAsset, 'locked', e.quoteLocked],
        [instrument.baseAsset, 'available', e.base],
        [instrument.baseAsset, 'locked', dec(0)],
      ];
      let exact = true;
      for (const [asset, field, value] of wanted) {
        const actual = dec(body.balances.find((b) => b.asset === asset)?.[field] ?? '0');
        if (actual.equals(value)) continue;
        exact = false;
        if (result.mismatches.length < 20) result.mismatches.push({ accountId: a.id, asset, field, expected: str(value), actual: str(actual) });
      }
      if (exact) result.exact++;
    },
    (done) => ctx.progress.update(done),
  );
  ctx.progress.finish(`${result.exact} exact`);
  return result;
}

/** On someone else's system: cancel what still rests and leave no liquidity behind for later orders. */
async function tidy(ctx: ScenarioContext, orders: PlannedOrder[]): Promise<void> {
  const open = orders.filter((o) => !o.fills && !o.warm && o.orderId && o.status === 'ACCEPTED');
  if (open.length > 0) {
    ctx.progress.start('cancel resting orders', open.length);
    await forEachLimited(
      open,
      8,
      async (o) => {
        await ctx.api.idempotent('POST', `/orders/${o.orderId}/cancel`, o.account.key, { reason: 'benchmark finished' }).catch((err: unknown) => {
          if (!(err instanceof ApiError && err.status === 409)) throw err;
        });
      },
      (done) => ctx.progress.update(done),
    );
    ctx.progress.finish();
  }
  await tick(ctx, TICK, '0');
}
