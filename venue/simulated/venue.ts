/**
 * A simulated venue, kept in PostgreSQL so resting orders survive a restart of every
 * process. Per symbol it keeps the last tick (price, remaining liquidity).
 *
 * Matching rules:
 * - a new tick matches resting orders: a BUY fills when its limit >= price, a SELL
 *   when its limit <= price, at the tick price, in price-time priority (the most
 *   aggressive limit first, then the oldest), at most `liquidity` in total per tick
 *   (null: unlimited);
 * - a MARKET order or a marketable LIMIT fills at once against the last tick's
 *   remaining liquidity; a MARKET order never fills beyond its protection price and
 *   with no tick yet it is rejected; IOC and MARKET cancel what they could not fill,
 *   FOK fills completely or not at all.
 *
 * Locking: the tick row of a symbol is locked (FOR UPDATE) by every submission and
 * every tick of that symbol, so matching is serialised per symbol; a cancel locks
 * only its order row.
 *
 * Refusals on the real path: an operator's rules per symbol (venue_rules) make it
 * refuse every cancel of a resting order (REFUSED: the order stays in the book) or
 * reject every submission with a given reason.
 *
 * Fills made by a tick are recorded with delivery PENDING (fill-feed.ts); the venue
 * process's fill dispatcher brings them to the order workflows (and retries until
 * they arrive).
 *
 * It keeps its book in tables of its own (entities.ts, its own migrations), through
 * its own ORM (database.ts); the service's reference data (which symbols exist) it
 * reads through the core's repository.
 */
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { dec, min, str, ZERO, type Decimal } from '../../domain/decimal';
import type { MarketPrices, MarketQuote, VenueAck, VenueCancelResult, VenueFill, VenueOrderRequest } from '../../domain/venue';
import type { Orm } from '../../persistence/orm';
import { findInstrument } from '../../persistence/reference/repository';
import type { ExchangeAdapter } from '../exchange';
import type { VenueOrm } from './database';
import type { VenueOrder, VenueTick } from './entities';
import * as book from './repository';

export interface Tick {
  symbol: string;
  price: string;
  liquidity: string | null;
}

export class UnknownSymbolError extends Error {
  constructor(readonly symbol: string) {
    super(`unknown symbol ${symbol}`);
    this.name = 'UnknownSymbolError';
  }
}

/** The databases the venue works with: the core's (reference data) and its own (the book). */
export interface SimulatedVenueDatabases {
  orm: Orm;
  venueOrm: VenueOrm;
}

/** The price a resting or incoming order accepts: its limit, or for MARKET its protection price. */
function worstPrice(o: Pick<VenueOrder, 'limitPrice' | 'protectionPrice'>): Decimal | null {
  const p = o.limitPrice ?? o.protectionPrice;
  return p == null ? null : dec(p);
}

function crosses(side: 'BUY' | 'SELL', worst: Decimal | null, price: Decimal): boolean {
  if (worst === null) return true;
  return side === 'BUY' ? worst.greaterThanOrEqualTo(price) : worst.lessThanOrEqualTo(price);
}

/** The reject reason of a submission under an id the venue was told to cancel first. */
export const CANCELLED_BEFORE_ARRIVAL = 'cancelled before it arrived';

export class SimulatedVenue implements ExchangeAdapter, MarketPrices {
  private readonly orm: Orm;
  private readonly venueOrm: VenueOrm;

  constructor(databases: SimulatedVenueDatabases) {
    this.orm = databases.orm;
    this.venueOrm = databases.venueOrm;
  }

  async submitOrder(req: VenueOrderRequest): Promise<VenueAck> {
    return this.venueOrm.em.fork().transactional(async (em) => {
      await book.lockOrderId(em, req.orderId);
      const tick = await book.lockTick(em, req.symbol);
      const existing = await book.lockOrder(em, req.orderId);
      if (existing) return this.ackFor(em, existing); // a retried submission
      // Cancelled before it arrived: it never goes live.
      if (await book.isOrderIdClosed(em, req.orderId)) return { status: 'REJECTED', rejectReason: CANCELLED_BEFORE_ARRIVAL, fills: [], remaining: str(req.quantity) };

      // An operator's rule: the venue rejects the symbol's submissions (a venue rejection on the real path).
      const rules = await book.findRules(em, req.symbol);
      if (rules.rejectSubmissions !== null) {
        await book.insertOrder(em, req, { status: 'REJECTED', remaining: req.quantity, rejectReason: rules.rejectSubmissions });
        return { status: 'REJECTED', rejectReason: rules.rejectSubmissions, fills: [], remaining: str(req.quantity) };
      }

      if (req.type === 'MARKET' && !tick) {
        await book.insertOrder(em, req, { status: 'REJECTED', remaining: req.quantity, rejectReason: 'no market price' });
        return { status: 'REJECTED', rejectReason: 'no market price', fills: [], remaining: str(req.quantity) };
      }

      const quantity = dec(req.quantity);
      let fillQty = ZERO;
      if (tick && crosses(req.side, worstPrice(req), dec(tick.price))) {
        fillQty = tick.liquidityRemaining == null ? quantity : min(quantity, dec(tick.liquidityRemaining));
        if (req.timeInForce === 'FOK' && fillQty.lessThan(quantity)) fillQty = ZERO;
      }
      const remaining = quantity.minus(fillQty);
      const immediate = req.type === 'MARKET' || req.timeInForce === 'IOC' || req.timeInForce === 'FOK';
      const status = remaining.isZero() ? 'FILLED' : immediate ? 'CANCELLED' : 'RESTING';

      await book.insertOrder(em, req, { status, remaining: str(remaining), rejectReason: null });
      const fills: VenueFill[] = [];
      if (fillQty.greaterThan(0) && tick) {
        // The acknowledgement carries these fills, so they need no separate delivery.
        fills.push(await this.fill(em, req.orderId, fillQty, tick.price, true));
        await this.consumeLiquidity(em, tick, fillQty);
      }
      return { status, rejectReason: null, fills, remaining: str(remaining) };
    });
  }

  async cancelOrder(orderId: string): Promise<VenueCancelResult> {
    return this.venueOrm.em.fork().transactional(async (em) => {
      await book.lockOrderId(em, orderId);
      const order = await book.lockOrder(em, orderId);
      if (!order) {
        // Never received: the id is closed, so a submission still on its way is refused.
        await book.closeOrderId(em, orderId);
        return { cancelled: false, reason: 'UNKNOWN_ORDER', fills: [], remaining: '0' };
      }
      let result: Pick<VenueCancelResult, 'cancelled' | 'reason'>;
      if (order.status === 'RESTING' && (await book.findRules(em, order.symbol)).refuseCancels) {
        // An operator's rule: the order is in the matching engine's hands; it stays resting.
        result = { cancelled: false, reason: 'REFUSED' };
      } else if (order.status === 'RESTING') {
        await book.cancelOrder(em, orderId);
        result = { cancelled: true, reason: 'CANCELLED' };
      } else if (order.status === 'FILLED') {
        result = { cancelled: false, reason: 'ALREADY_FILLED' };
      } else {
        // Already cancelled (a retried cancel, or the unfilled rest of an IOC) or rejected.
        result = { cancelled: order.status === 'CANCELLED', reason: 'ALREADY_CLOSED' };
      }
      return { ...result, fills: await book.fillsOf(em, orderId), remaining: str(order.remaining) };
    });
  }

  /** Records a tick and matches resting orders against it. Returns the fills it made. */
  async recordTick(tick: Tick, correlationId: string | null = null): Promise<VenueFill[]> {
    if (!(await findInstrument(this.orm.em.fork(), tick.symbol))) throw new UnknownSymbolError(tick.symbol);
    return this.venueOrm.em.fork().transactional(async (em) => {
      await book.recordTick(em, tick);
      const price = dec(tick.price);

      const resting = await book.lockRestingOrders(em, tick.symbol);
      // Price-time priority: how far the order's limit is through the tick price, then age.
      const candidates = resting
        .filter((o) => crosses(o.side, worstPrice(o), price))
        .map((o) => {
          const worst = worstPrice(o);
          const edge = worst === null ? dec(Number.MAX_SAFE_INTEGER) : o.side === 'BUY' ? worst.minus(price) : price.minus(worst);
          return { o, edge };
        })
        .sort((a, b) => b.edge.comparedTo(a.edge) || Number(BigInt(a.o.priority) - BigInt(b.o.priority)));

      let liquidity: Decimal | null = tick.liquidity === null ? null : dec(tick.liquidity);
      const fills: VenueFill[] = [];
      for (const { o } of candidates) {
        if (liquidity !== null && liquidity.isZero()) break;
        const remaining = dec(o.remaining);
        const qty = liquidity === null ? remaining : min(remaining, liquidity);
        await book.setRemaining(em, o.orderId, str(remaining.minus(qty)));
        fills.push(await this.fill(em, o.orderId, qty, tick.price, false, correlationId));
        if (liquidity !== null) liquidity = liquidity.minus(qty);
      }
      await book.setLiquidity(em, tick.symbol, liquidity === null ? null : str(liquidity));
      // Delivered at commit: wakes the fill dispatcher without waiting for its next poll.
      if (fills.length > 0) await book.notifyDispatchers(em);
      return fills;
    });
  }

  /** Sets what the venue does with a symbol's cancels and submissions (operators; tests). */
  async setRules(symbol: string, rules: book.VenueRules): Promise<book.VenueRules> {
    if (!(await findInstrument(this.orm.em.fork(), symbol))) throw new UnknownSymbolError(symbol);
    await book.saveRules(this.venueOrm.em.fork(), symbol, rules);
    return this.rules(symbol);
  }

  async rules(symbol: string): Promise<book.VenueRules> {
    return book.findRules(this.venueOrm.em.fork(), symbol);
  }

  /** MarketData: the last traded price of a symbol, or null before its first tick. */
  async lastPrice(symbol: string): Promise<string | null> {
    return (await this.lastTick(symbol))?.price ?? null;
  }

  /** MarketPrices: the last tick's price and when it was posted. */
  async marketPrice(symbol: string): Promise<MarketQuote | null> {
    const tick = await book.findTick(this.venueOrm.em.fork(), symbol);
    return tick ? { price: str(tick.price), at: new Date(tick.updatedAt).toISOString() } : null;
  }

  /** The last tick of a symbol, or null. */
  async lastTick(symbol: string): Promise<{ price: string; liquidityRemaining: string | null } | null> {
    const tick = await book.findTick(this.venueOrm.em.fork(), symbol);
    return tick ? { price: str(tick.price), liquidityRemaining: tick.liquidityRemaining == null ? null : str(tick.liquidityRemaining) } : null;
  }

  private async consumeLiquidity(em: EntityManager, tick: VenueTick, qty: Decimal): Promise<void> {
    if (tick.liquidityRemaining == null) return;
    await book.setLiquidity(em, tick.symbol, str(dec(tick.liquidityRemaining).minus(qty)));
  }

  private async fill(em: EntityManager, orderId: string, qty: Decimal, price: string, atSubmission: boolean, correlationId: string | null = null): Promise<VenueFill> {
    const fill: VenueFill = { tradeId: randomUUID(), orderId, quantity: str(qty), price: str(price), executedAt: new Date().toISOString() };
    await book.insertFill(em, fill, atSubmission, correlationId);
    return fill;
  }

  private async ackFor(em: EntityManager, order: VenueOrder): Promise<VenueAck> {
    const fills = await book.fillsOf(em, order.orderId, { atSubmission: true });
    const remaining = fills.reduce((left, f) => left.minus(dec(f.quantity)), dec(order.quantity));
    return { status: order.submitStatus, rejectReason: order.rejectReason ?? null, fills, remaining: str(remaining) };
  }
}
