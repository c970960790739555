/**
 * The order workflow's activities, built over injected dependencies. Each is one
 * step of the lifecycle; the workflow makes every decision and these carry it out:
 * read reference data, commit a change (read model + ledger in one transaction),
 * talk to the venue. All are idempotent, because Temporal retries them.
 *
 * Business failures are non-retryable ApplicationFailures with typed names; anything
 * else (database or venue down) is thrown as is and retried.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { str } from '../domain/decimal';
import { nextSessionClose, validateOrder as checkOrder, type Instrument, type Rejection } from '../domain/instrument';
import type { PlaceOrderRequest } from '../domain/order';
import { draft, appendEvents, type EventContext } from '../events/outbox';
import { Account, Instrument as InstrumentEntity } from '../persistence/entities';
import { InsufficientFundsError } from '../persistence/ledger';
import { findOrder } from '../persistence/order-queries';
import { commitOrderChange, type OrderChange } from '../persistence/order-store';
import type { Orm } from '../persistence/orm';
import type { ExchangeAdapter, VenueAck, VenueCancelResult, VenueOrderRequest } from '../venue/exchange';
import { OrderFailureTypes } from '../workflows/order/definitions';

export interface MarketData {
  /** The venue's last traded price for a symbol, or null before the first tick. */
  lastPrice(symbol: string): Promise<string | null>;
}

export interface OrderActivityDeps {
  orm: Orm;
  venue: ExchangeAdapter;
  marketData: MarketData;
  /** TRADING_DAY_CLOSE_UTC */
  tradingDayCloseUtc: string;
  /** MARKET_ORDER_COLLAR */
  marketOrderCollar: string;
  now?: () => number;
}

export interface ValidatedOrder {
  instrument: Instrument;
  /** Last price, for MARKET orders (lock and protection price). */
  lastPrice: string | null;
  marketOrderCollar: string;
  /** When the order expires: expireAt for GTD, the session close for DAY, else null. */
  expireAt: string | null;
}

export function toInstrument(e: InstrumentEntity): Instrument {
  return {
    symbol: e.symbol,
    baseAsset: e.baseAsset,
    quoteAsset: e.quoteAsset,
    tickSize: str(e.tickSize),
    lotSize: str(e.lotSize),
    minQuantity: str(e.minQuantity),
    feeRate: str(e.feeRate),
    active: e.active,
  };
}

function reject(r: Rejection): never {
  throw ApplicationFailure.create({ type: OrderFailureTypes.validation, message: r.message, nonRetryable: true, details: [r], category: 'BENIGN' });
}

export function createOrderActivities(deps: OrderActivityDeps) {
  const now = deps.now ?? Date.now;
  const commit = (change: OrderChange) => commitOrderChange(deps.orm.em.fork(), change);

  return {
    /** Writes the order's first version (NEW) to the read model. */
    async recordOrder(change: OrderChange): Promise<void> {
      await commit(change);
    },

    /** Business validation against instrument, account and market; rejections are non-retryable. */
    async validateOrder(input: { orderId: string; request: PlaceOrderRequest }): Promise<ValidatedOrder> {
      const req = input.request;
      const em = deps.orm.em.fork();
      const [account, instrumentRow] = await Promise.all([
        em.findOne(Account, { id: req.accountId }),
        em.findOne(InstrumentEntity, { symbol: req.symbol }),
      ]);
      if (!account) reject({ code: 'ACCOUNT_NOT_FOUND', message: `account ${req.accountId} does not exist` });
      if (account.status !== 'ACTIVE') reject({ code: 'ACCOUNT_INACTIVE', message: `account ${req.accountId} is ${account.status}` });
      const instrument = instrumentRow ? toInstrument(instrumentRow) : null;
      const lastPrice = instrument && req.type === 'MARKET' ? await deps.marketData.lastPrice(req.symbol) : null;
      const at = now();
      const rejection = checkOrder(req, instrument, at, lastPrice);
      if (rejection) reject(rejection);
      const expireAt =
        req.timeInForce === 'GTD' ? req.expireAt : req.timeInForce === 'DAY' ? nextSessionClose(at, deps.tradingDayCloseUtc).toISOString() : null;
      return { instrument: instrument as Instrument, lastPrice, marketOrderCollar: deps.marketOrderCollar, expireAt };
    },

    /** Commits the lock postings; InsufficientFunds is a non-retryable business failure. */
    async lockFunds(change: OrderChange): Promise<void> {
      try {
        await commit(change);
      } catch (err) {
        if (err instanceof InsufficientFundsError) {
          throw ApplicationFailure.create({
            type: OrderFailureTypes.insufficientFunds,
            message: err.message,
            nonRetryable: true,
            details: [{ asset: err.asset, required: err.required, available: err.held }],
            // An expected business outcome, not an error: logged at DEBUG, not counted as a failure.
            category: 'BENIGN',
          });
        }
        throw err;
      }
    },

    async submitToVenue(order: VenueOrderRequest): Promise<VenueAck> {
      return deps.venue.submitOrder(order);
    },

    /** Commits one fill: debit, credit, fee, price improvement released, fill row, new status. */
    async settleFill(change: OrderChange): Promise<void> {
      await commit(change);
    },

    /** Reports a fill the order refused (over-fill) as an order.fill_refused event: an operator alert. */
    async reportFillRefused(input: {
      orderId: string;
      fill: { tradeId: string; quantity: string; price: string };
      reason: string;
      context: EventContext;
    }): Promise<void> {
      await deps.orm.em.fork().transactional(async (em) => {
        const order = await findOrder(em, input.orderId);
        if (!order) throw new Error(`order ${input.orderId} is not in the read model`);
        const key = `order:${input.orderId}:fill-refused:${input.fill.tradeId}`;
        await appendEvents(em, key, [draft('order.fill_refused', { order, fill: input.fill, reason: input.reason })], input.context);
      });
    },

    async cancelAtVenue(orderId: string): Promise<VenueCancelResult> {
      return deps.venue.cancelOrder(orderId);
    },

    /** Commits a status change, with the release of what a terminal order still holds. */
    async recordTransition(change: OrderChange): Promise<void> {
      await commit(change);
    },
  };
}

export type OrderActivities = ReturnType<typeof createOrderActivities>;
