import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startHarness, type Harness } from './support/harness';
import { balances, expectLedgerInvariants, finalOrder, fundedAccount, place, tick, waitForOrder, hasStatus } from './support/fixtures';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('smoke', () => {
  it('rests a limit buy, fills it on a tick and settles the ledger', async () => {
    const account = await fundedAccount(h, { USD: '1000' });
    const placed = await place(h, account, { side: 'BUY', quantity: '2', limitPrice: '100' });
    expect(placed.status).toBe('ACCEPTED');
    expect(await balances(h, account)).toEqual({ USD: { available: '800', locked: '200' } });
    await tick(h, 'BTC-USD', '99');
    const done = await waitForOrder(h, placed.orderId, hasStatus('FILLED'));
    expect(done.averageFillPrice).toBe('99');
    expect(await balances(h, account)).toEqual({ USD: { available: '802', locked: '0' }, BTC: { available: '2', locked: '0' } });
    expect((await finalOrder(h, placed.orderId)).status).toBe('FILLED');
    await expectLedgerInvariants(h, account);
  });

  it('rejects an order the account cannot pay for', async () => {
    const account = await fundedAccount(h, { USD: '10' });
    const placed = await place(h, account, { side: 'BUY', quantity: '1', limitPrice: '100' });
    expect(placed.status).toBe('REJECTED');
    expect(placed.rejectReason).toMatch(/INSUFFICIENT_FUNDS/);
    await expectLedgerInvariants(h, account);
  });
});
