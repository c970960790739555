/**
 * Ledger arithmetic: what an order locks, how a fill settles, what a terminal order
 * releases. Pure and workflow-safe; the workflow decides with these functions and the
 * activities post the resulting entries.
 *
 * Double entry: every movement is a set of postings whose amounts sum to zero per
 * asset. Customer books have an `available` and a `locked` bucket; the counterparties
 * are system books: `external` (deposits and withdrawals), `venue` (the other side of
 * every fill) and `fees` (fee income).
 */
import { assertStorable, Decimal, dec, str, ZERO } from './decimal';
import type { Instrument } from './instrument';
import type { OrderSide, OrderType } from './order';

export const LEDGER_BOOKS = ['customer', 'external', 'venue', 'fees'] as const;
export type LedgerBook = (typeof LEDGER_BOOKS)[number];

export const BUCKETS = ['available', 'locked'] as const;
export type Bucket = (typeof BUCKETS)[number];

export const ENTRY_KINDS = ['DEPOSIT', 'WITHDRAWAL', 'LOCK', 'RELEASE', 'FILL_DEBIT', 'FILL_CREDIT', 'FEE'] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

/** One line of a ledger transaction. amount is signed; customer postings name a bucket. */
export interface Posting {
  book: LedgerBook;
  accountId: string | null;
  asset: string;
  bucket: Bucket | null;
  amount: string;
  kind: EntryKind;
}

const customer = (accountId: string, asset: string, bucket: Bucket, amount: Decimal, kind: EntryKind): Posting => ({
  book: 'customer',
  accountId,
  asset,
  bucket,
  amount: str(assertStorable(amount, kind)),
  kind,
});

const system = (book: Exclude<LedgerBook, 'customer'>, asset: string, amount: Decimal, kind: EntryKind): Posting => ({
  book,
  accountId: null,
  asset,
  bucket: null,
  amount: str(assertStorable(amount, kind)),
  kind,
});

export function depositPostings(accountId: string, asset: string, amount: string): Posting[] {
  const a = dec(amount);
  return [customer(accountId, asset, 'available', a, 'DEPOSIT'), system('external', asset, a.neg(), 'DEPOSIT')];
}

export function withdrawalPostings(accountId: string, asset: string, amount: string): Posting[] {
  const a = dec(amount);
  return [customer(accountId, asset, 'available', a.neg(), 'WITHDRAWAL'), system('external', asset, a, 'WITHDRAWAL')];
}

export function lockPostings(accountId: string, asset: string, amount: string): Posting[] {
  const a = dec(amount);
  return [customer(accountId, asset, 'available', a.neg(), 'LOCK'), customer(accountId, asset, 'locked', a, 'LOCK')];
}

export function releasePostings(accountId: string, asset: string, amount: string): Posting[] {
  const a = dec(amount);
  if (a.isZero()) return [];
  return [customer(accountId, asset, 'locked', a.neg(), 'RELEASE'), customer(accountId, asset, 'available', a, 'RELEASE')];
}

/** Per asset, the postings must sum to zero. Returns the assets that do not balance. */
export function unbalancedAssets(postings: readonly Posting[]): string[] {
  const totals = new Map<string, Decimal>();
  for (const p of postings) totals.set(p.asset, (totals.get(p.asset) ?? ZERO).plus(dec(p.amount)));
  return [...totals].filter(([, t]) => !t.isZero()).map(([asset]) => asset);
}

/** How an order holds funds: asset, total amount, the lock per unit of quantity. */
export interface LockPlan {
  asset: string;
  amount: string;
  /** Locked per unit of base quantity: 1 for SELL; price x (1 + feeRate) for BUY. */
  unitLock: string;
  /** MARKET orders only: the worst price the venue may fill at (the collar). */
  protectionPrice: string | null;
}

/** Rounds price to a multiple of tick, down or up. */
export function roundToTick(price: Decimal, tick: string, direction: 'down' | 'up'): Decimal {
  const t = dec(tick);
  const steps = price.div(t);
  return (direction === 'down' ? steps.floor() : steps.ceil()).times(t);
}

/**
 * What the order must lock. SELL locks `quantity` of the base asset. BUY locks quote:
 * quantity x limitPrice plus fee headroom; a MARKET BUY uses the collar price
 * lastPrice x (1 + collar), rounded down to the tick, which the venue also enforces as
 * its protection price so a fill can never cost more than was locked.
 */
export function lockPlan(
  order: { side: OrderSide; type: OrderType; quantity: string; limitPrice: string | null },
  instrument: Pick<Instrument, 'baseAsset' | 'quoteAsset' | 'tickSize' | 'feeRate'>,
  lastPrice: string | null,
  collar: string,
): LockPlan {
  const qty = dec(order.quantity);
  let protection: Decimal | null = null;
  if (order.type === 'MARKET') {
    if (lastPrice === null) throw new Error('a MARKET order needs a last price to lock against');
    const last = dec(lastPrice);
    protection =
      order.side === 'BUY'
        ? roundToTick(last.times(dec(1).plus(dec(collar))), instrument.tickSize, 'down')
        : roundToTick(last.times(dec(1).minus(dec(collar))), instrument.tickSize, 'up');
    if (protection.lessThanOrEqualTo(0)) protection = dec(instrument.tickSize);
  }
  if (order.side === 'SELL') {
    return { asset: instrument.baseAsset, amount: str(qty), unitLock: '1', protectionPrice: protection && str(protection) };
  }
  const price = protection ?? dec(order.limitPrice as string);
  const unit = price.times(dec(1).plus(dec(instrument.feeRate)));
  return {
    asset: instrument.quoteAsset,
    amount: str(assertStorable(qty.times(unit), 'lock amount')),
    unitLock: str(unit),
    protectionPrice: protection && str(protection),
  };
}

export interface SettlementInput {
  accountId: string;
  side: OrderSide;
  baseAsset: string;
  quoteAsset: string;
  feeRate: string;
  unitLock: string;
  /** What the order holds locked before this fill. */
  lockedAmount: string;
  /** Quantity still unfilled before this fill. */
  leavesQuantity: string;
}

export interface Settlement {
  postings: Posting[];
  fee: string;
  feeAsset: string;
  /** What the order holds locked after this fill. */
  lockedAfter: string;
  /** The quote amount quantity x price. */
  notional: string;
}

export class SettlementError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettlementError';
  }
}

/**
 * The postings that settle one fill. The fill's share of the lock becomes the debit;
 * the other asset is credited; the fee is charged in the quote asset (from the lock
 * for a BUY, from the proceeds for a SELL); a BUY filled below its lock price releases
 * the difference. The fill that completes the order consumes whatever is left locked.
 */
export function fillSettlement(ctx: SettlementInput, fill: { quantity: string; price: string }): Settlement {
  const qty = dec(fill.quantity);
  const price = dec(fill.price);
  const leaves = dec(ctx.leavesQuantity);
  const locked = dec(ctx.lockedAmount);
  if (!qty.isPositive() || qty.isZero()) throw new SettlementError(`fill quantity ${fill.quantity} must be positive`);
  if (!price.isPositive() || price.isZero()) throw new SettlementError(`fill price ${fill.price} must be positive`);
  if (qty.greaterThan(leaves)) throw new SettlementError(`fill quantity ${fill.quantity} exceeds leaves ${ctx.leavesQuantity}`);

  const completes = qty.equals(leaves);
  const share = completes ? locked : qty.times(dec(ctx.unitLock));
  if (share.greaterThan(locked)) throw new SettlementError(`fill needs ${str(share)} of the lock but only ${ctx.lockedAmount} is held`);

  const notional = qty.times(price);
  const fee = notional.times(dec(ctx.feeRate));
  const { accountId, baseAsset, quoteAsset } = ctx;
  const postings: Posting[] = [];

  if (ctx.side === 'BUY') {
    const release = share.minus(notional).minus(fee);
    if (release.isNegative()) {
      throw new SettlementError(`fill at ${fill.price} costs ${str(notional.plus(fee))}, more than the ${str(share)} locked for it`);
    }
    postings.push(
      customer(accountId, quoteAsset, 'locked', notional.neg(), 'FILL_DEBIT'),
      system('venue', quoteAsset, notional, 'FILL_DEBIT'),
      system('venue', baseAsset, qty.neg(), 'FILL_CREDIT'),
      customer(accountId, baseAsset, 'available', qty, 'FILL_CREDIT'),
    );
    if (!fee.isZero()) postings.push(customer(accountId, quoteAsset, 'locked', fee.neg(), 'FEE'), system('fees', quoteAsset, fee, 'FEE'));
    postings.push(...releasePostings(accountId, quoteAsset, str(release)));
  } else {
    postings.push(
      customer(accountId, baseAsset, 'locked', qty.neg(), 'FILL_DEBIT'),
      system('venue', baseAsset, qty, 'FILL_DEBIT'),
      system('venue', quoteAsset, notional.neg(), 'FILL_CREDIT'),
      customer(accountId, quoteAsset, 'available', notional, 'FILL_CREDIT'),
    );
    if (!fee.isZero()) postings.push(customer(accountId, quoteAsset, 'available', fee.neg(), 'FEE'), system('fees', quoteAsset, fee, 'FEE'));
    postings.push(...releasePostings(accountId, baseAsset, str(share.minus(qty))));
  }

  return {
    postings,
    fee: str(fee),
    feeAsset: quoteAsset,
    lockedAfter: str(locked.minus(share)),
    notional: str(notional),
  };
}
