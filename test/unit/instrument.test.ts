/** Business validation of orders and the DAY session close. */
import { describe, expect, it } from '@jest/globals';
import { nextSessionClose, validateOrder, type Instrument } from '../../domain/instrument';
import type { PlaceOrderRequest } from '../../domain/order';

const btc: Instrument = { symbol: 'BTC-USD', baseAsset: 'BTC', quoteAsset: 'USD', tickSize: '0.01', lotSize: '0.00001', minQuantity: '0.0001', feeRate: '0', active: true };
const now = Date.parse('2026-11-24T12:00:00Z');
const order = (o: Partial<PlaceOrderRequest> = {}): PlaceOrderRequest => ({
  clientOrderId: 'c', accountId: 'a', symbol: 'BTC-USD', side: 'BUY', type: 'LIMIT', quantity: '0.5', limitPrice: '100.25', timeInForce: 'GTC', expireAt: null, ...o,
});

describe('validateOrder', () => {
  it('accepts a well-formed order', () => {
    expect(validateOrder(order(), btc, now, null)).toBeNull();
    expect(validateOrder(order({ type: 'MARKET', limitPrice: null, timeInForce: 'FOK' }), btc, now, '100')).toBeNull();
    expect(validateOrder(order({ timeInForce: 'GTD', expireAt: '2026-11-24T12:00:01Z' }), btc, now, null)).toBeNull();
  });

  it.each([
    [order(), null, 'UNKNOWN_SYMBOL'],
    [order(), { ...btc, active: false }, 'INSTRUMENT_INACTIVE'],
    [order({ quantity: '0.00005' }), btc, 'QUANTITY_BELOW_MINIMUM'],
    [order({ quantity: '0.000105' }), btc, 'INVALID_LOT'],
    [order({ limitPrice: null }), btc, 'MISSING_PRICE'],
    [order({ limitPrice: '100.255' }), btc, 'INVALID_TICK'],
    [order({ type: 'MARKET', limitPrice: null, timeInForce: 'DAY' }), btc, 'INVALID_TIME_IN_FORCE'],
    [order({ type: 'MARKET', limitPrice: null, timeInForce: 'IOC' }), btc, 'NO_MARKET_PRICE'],
    [order({ timeInForce: 'GTD' }), btc, 'MISSING_EXPIRE_AT'],
    [order({ timeInForce: 'GTD', expireAt: '2026-11-24T12:00:00Z' }), btc, 'EXPIRE_AT_NOT_FUTURE'],
    [order({ timeInForce: 'DAY', expireAt: '2026-11-25T00:00:00Z' }), btc, 'EXPIRE_AT_NOT_ALLOWED'],
  ])('rejects %#', (o, instrument, code) => {
    expect(validateOrder(o, instrument, now, null)?.code).toBe(code);
  });
});

describe('nextSessionClose', () => {
  it('is today at the close when that is still ahead, else tomorrow', () => {
    expect(nextSessionClose(now, '21:00').toISOString()).toBe('2026-11-24T21:00:00.000Z');
    expect(nextSessionClose(now, '12:00:00').toISOString()).toBe('2026-11-25T12:00:00.000Z');
    expect(nextSessionClose(now, '11:59:59').toISOString()).toBe('2026-11-25T11:59:59.000Z');
  });
});
