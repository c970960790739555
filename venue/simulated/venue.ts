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
 * Fills made by a tick are recorded with delivery PENDING (fill-feed.ts); the venue
 * process's fill dispatcher brings them to the order workflows (and retries until
 * they arrive).
 */
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { dec, min, str, ZERO, type Decimal } from '../../domain/decimal';
import type { Orm } from '../../persistence/orm';
import type { VenueAck, VenueCancelResult, VenueFill, VenueOrderRequest } from '../../domain/venue';
import type { ExchangeAdapter } from '../exchange';
import { FILLS_CHANNEL } from './fill-feed';

interface VenueOrderRow {
  order_id: string;
  side: 'BUY' | 'SELL';
  type: 'MARKET' | 'LIMIT';
  time_in_force: string;
  quantity: string;
  limit_price: string | null;
  protection_price: string | null;
  remaining: string;
  status: 'RESTING' | 'FILLED' | 'CANCELLED' | 'REJECTED';
  /** The status the submission was acknowledged with (status moves on as ticks fill it). */
  submit_status: VenueAck['status'];
  reject_reason: string | null;
}

interface TickRow {
  price: string;
  liquidity_remaining: string | null;
}

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

/** The price a resting or incoming order accepts: its limit, or for MARKET its protection price. */
function worstPrice(o: Pick<VenueOrderRow, 'limit_price' | 'protection_price'>): Decimal | null {
  const p = o.limit_price ?? o.protection_price;
  return p === null ? null : dec(p);
}

function crosses(side: 'BUY' | 'SELL', worst: Decimal | null, price: Decimal): boolean {
  if (worst === null) return true;
  return side === 'BUY' ? worst.greaterThanOrEqualTo(price) : worst.lessThanOrEqualTo(price);
}

function fillFromRow(r: { trade_id: string; order_id: string; quantity: string; price: string; executed_at: Date | string }): VenueFill {
  return {
    tradeId: r.trade_id,
    orderId: r.order_id,
    quantity: str(r.quantity),
    price: str(r.price),
    executedAt: new Date(r.executed_at).toISOString(),
  };
}

export class SimulatedVenue implements ExchangeAdapter {
  constructor(private readonly orm: Orm) {}

  async submitOrder(req: VenueOrderRequest): Promise<VenueAck> {
    return this.orm.em.fork().transactional(async (em) => {
      const tick = await this.lockTick(em, req.symbol);
      const [existing] = await em.execute<VenueOrderRow[]>('select * from venue_orders where order_id = ? for update', [req.orderId]);
      if (existing) return this.ackFor(em, existing); // a retried submission

      if (req.type === 'MARKET' && !tick) {
        await em.execute(
          `insert into venue_orders (order_id, symbol, side, type, time_in_force, quantity, limit_price, protection_price,
             remaining, status, submit_status, reject_reason, closed_at)
           values (?, ?, ?, ?, ?, ?, ?, ?, ?, 'REJECTED', 'REJECTED', ?, now())`,
          [req.orderId, req.symbol, req.side, req.type, req.timeInForce, req.quantity, req.limitPrice, req.protectionPrice, req.quantity, 'no market price'],
        );
        return { status: 'REJECTED', rejectReason: 'no market price', fills: [], remaining: str(req.quantity) };
      }

      const quantity = dec(req.quantity);
      let fillQty = ZERO;
      if (tick && crosses(req.side, worstPrice({ limit_price: req.limitPrice, protection_price: req.protectionPrice }), dec(tick.price))) {
        fillQty = tick.liquidity_remaining === null ? quantity : min(quantity, dec(tick.liquidity_remaining));
        if (req.timeInForce === 'FOK' && fillQty.lessThan(quantity)) fillQty = ZERO;
      }
      const remaining = quantity.minus(fillQty);
      const immediate = req.type === 'MARKET' || req.timeInForce === 'IOC' || req.timeInForce === 'FOK';
      const status = remaining.isZero() ? 'FILLED' : immediate ? 'CANCELLED' : 'RESTING';

      await em.execute(
        `insert into venue_orders (order_id, symbol, side, type, time_in_force, quantity, limit_price, protection_price,
           remaining, status, submit_status, closed_at)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ${status === 'RESTING' ? 'null' : 'now()'})`,
        [req.orderId, req.symbol, req.side, req.type, req.timeInForce, req.quantity, req.limitPrice, req.protectionPrice, str(remaining), status, status],
      );
      const fills: VenueFill[] = [];
      if (fillQty.greaterThan(0) && tick) {
        // The acknowledgement carries these fills, so they need no separate delivery.
        fills.push(await this.insertFill(em, req.orderId, fillQty, tick.price, true));
        await this.consumeLiquidity(em, req.symbol, tick, fillQty);
      }
      return { status, rejectReason: null, fills, remaining: str(remaining) };
    });
  }

  async cancelOrder(orderId: string): Promise<VenueCancelResult> {
    return this.orm.em.fork().transactional(async (em) => {
      const [row] = await em.execute<VenueOrderRow[]>('select * from venue_orders where order_id = ? for update', [orderId]);
      if (!row) return { cancelled: false, reason: 'UNKNOWN_ORDER', fills: [], remaining: '0' };
      let result: Pick<VenueCancelResult, 'cancelled' | 'reason'>;
      if (row.status === 'RESTING') {
        await em.execute(`update venue_orders set status = 'CANCELLED', closed_at = now() where order_id = ?`, [orderId]);
        result = { cancelled: true, reason: 'CANCELLED' };
      } else if (row.status === 'FILLED') {
        result = { cancelled: false, reason: 'ALREADY_FILLED' };
      } else {
        // Already cancelled (a retried cancel, or the unfilled rest of an IOC) or rejected.
        result = { cancelled: row.status === 'CANCELLED', reason: 'ALREADY_CLOSED' };
      }
      return { ...result, fills: await this.fillsOf(em, orderId), remaining: str(row.remaining) };
    });
  }

  /** Records a tick and matches resting orders against it. Returns the fills it made. */
  async recordTick(tick: Tick, correlationId: string | null = null): Promise<VenueFill[]> {
    return this.orm.em.fork().transactional(async (em) => {
      const known = await em.execute<unknown[]>('select 1 from instruments where symbol = ?', [tick.symbol]);
      if (known.length === 0) throw new UnknownSymbolError(tick.symbol);
      await em.execute(
        `insert into venue_ticks (symbol, price, liquidity_remaining, seq) values (?, ?, ?, 1)
         on conflict (symbol) do update set price = excluded.price, liquidity_remaining = excluded.liquidity_remaining,
           seq = venue_ticks.seq + 1, updated_at = now()`,
        [tick.symbol, tick.price, tick.liquidity],
      );
      const price = dec(tick.price);

      const resting = await em.execute<(VenueOrderRow & { priority: string })[]>(
        `select * from venue_orders where symbol = ? and status = 'RESTING' order by priority for update`,
        [tick.symbol],
      );
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
        const left = remaining.minus(qty);
        await em.execute(
          `update venue_orders set remaining = ?, status = ?, closed_at = ${left.isZero() ? 'now()' : 'null'} where order_id = ?`,
          [str(left), left.isZero() ? 'FILLED' : 'RESTING', o.order_id],
        );
        fills.push(await this.insertFill(em, o.order_id, qty, tick.price, false, correlationId));
        if (liquidity !== null) liquidity = liquidity.minus(qty);
      }
      await em.execute('update venue_ticks set liquidity_remaining = ? where symbol = ?', [
        liquidity === null ? null : str(liquidity),
        tick.symbol,
      ]);
      // Delivered at commit: wakes the fill dispatcher without waiting for its next poll.
      if (fills.length > 0) await em.execute(`select pg_notify('${FILLS_CHANNEL}', '')`);
      return fills;
    });
  }

  /** MarketData: the last traded price of a symbol, or null before its first tick. */
  async lastPrice(symbol: string): Promise<string | null> {
    return (await this.lastTick(symbol))?.price ?? null;
  }

  /** The last tick of a symbol, or null. */
  async lastTick(symbol: string): Promise<{ price: string; liquidityRemaining: string | null } | null> {
    const [row] = await this.orm.em
      .fork()
      .execute<TickRow[]>('select price, liquidity_remaining from venue_ticks where symbol = ?', [symbol]);
    return row ? { price: str(row.price), liquidityRemaining: row.liquidity_remaining === null ? null : str(row.liquidity_remaining) } : null;
  }

  private async lockTick(em: EntityManager, symbol: string): Promise<TickRow | null> {
    const [tick] = await em.execute<TickRow[]>('select price, liquidity_remaining from venue_ticks where symbol = ? for update', [symbol]);
    return tick ?? null;
  }

  private async consumeLiquidity(em: EntityManager, symbol: string, tick: TickRow, qty: Decimal): Promise<void> {
    if (tick.liquidity_remaining === null) return;
    await em.execute('update venue_ticks set liquidity_remaining = ? where symbol = ?', [str(dec(tick.liquidity_remaining).minus(qty)), symbol]);
  }

  private async insertFill(
    em: EntityManager,
    orderId: string,
    qty: Decimal,
    price: string,
    atSubmission: boolean,
    correlationId: string | null = null,
  ): Promise<VenueFill> {
    const fill: VenueFill = { tradeId: randomUUID(), orderId, quantity: str(qty), price: str(price), executedAt: new Date().toISOString() };
    await em.execute(
      `insert into venue_fills (trade_id, order_id, quantity, price, executed_at, at_submission, delivery, delivered_at, correlation_id)
       values (?, ?, ?, ?, ?, ?, ?, ${atSubmission ? 'now()' : 'null'}, ?)`,
      [fill.tradeId, orderId, fill.quantity, fill.price, fill.executedAt, atSubmission, atSubmission ? 'DELIVERED' : 'PENDING', correlationId],
    );
    return fill;
  }

  private async fillsOf(em: EntityManager, orderId: string): Promise<VenueFill[]> {
    const rows = await em.execute<Parameters<typeof fillFromRow>[0][]>(
      'select trade_id, order_id, quantity, price, executed_at from venue_fills where order_id = ? order by seq',
      [orderId],
    );
    return rows.map(fillFromRow);
  }

  private async ackFor(em: EntityManager, row: VenueOrderRow): Promise<VenueAck> {
    const rows = await em.execute<Parameters<typeof fillFromRow>[0][]>(
      'select trade_id, order_id, quantity, price, executed_at from venue_fills where order_id = ? and at_submission order by seq',
      [row.order_id],
    );
    const fills = rows.map(fillFromRow);
    const remaining = fills.reduce((left, f) => left.minus(dec(f.quantity)), dec(row.quantity));
    return { status: row.submit_status, rejectReason: row.reject_reason, fills, remaining: str(remaining) };
  }
}
