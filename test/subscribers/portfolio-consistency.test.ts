/**
 * "The portfolio never shows a state that never existed": a scenario runs on the real
 * path (Temporal, the ledger, the outbox), then its two event streams (the account's
 * funds and its trades) are replayed into the portfolio subscriber in many
 * interleavings, each as a fresh account. After EVERY event, the portfolio's answer
 * must equal the ledger's balances after one of the account's ledger transactions,
 * the one `asOf` names, and its positions must hold what that state holds of the
 * base asset. The events are copied under a new account id so the live subscribers
 * of other test files never touch the replayed projection.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { deposit, withdraw } from '../../activities/accounts';
import { dec, str, ZERO, type Decimal } from '../../domain/decimal';
import { parseEvent, type EventEnvelope } from '../../events/catalogue';
import { createLogger } from '../../runtime/logger';
import { Subscriber } from '../../subscribers/framework';
import { portfolioSubscriber } from '../../subscribers/portfolio';
import { getPortfolio } from '../../subscribers/portfolio/store';
import { fundedAccount, hasStatus, newInstrument, place, tick, waitForOrder } from '../support/fixtures';
import { startHarness, type Harness } from '../support/harness';
import { startPipeline, type Pipeline } from '../support/pipeline';

let h: Harness;
let p: Pipeline;

beforeAll(async () => {
  h = await startHarness();
  p = await startPipeline(h, { relay: false });
});
afterAll(async () => {
  await p?.close();
  await h?.close();
});

type State = Map<string, { total: Decimal; locked: Decimal }>;

/** A state as comparable text: non-zero rows only, in asset order. */
function key(state: State): string {
  return [...state]
    .filter(([, b]) => !b.total.isZero() || !b.locked.isZero())
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([asset, b]) => `${asset}:${str(b.total)}/${str(b.locked)}`)
    .join(' ');
}

/** The account's balances after each of its ledger transactions, in commit order (S0 = nothing). */
async function ledgerStates(accountId: string): Promise<string[]> {
  const rows = await h.orm.em
    .fork()
    .execute<{ transaction_id: string; asset: string; bucket: 'available' | 'locked'; amount: string }[]>(
      `select e.transaction_id, e.asset, e.bucket, sum(e.amount) as amount
       from ledger_entries e where e.book = 'customer' and e.account_id = ?
       group by e.transaction_id, e.asset, e.bucket order by e.transaction_id`,
      [accountId],
    );
  const state: State = new Map();
  const states = [key(state)];
  let current: string | null = null;
  for (const r of rows) {
    if (current !== null && r.transaction_id !== current) states.push(key(state));
    current = r.transaction_id;
    const b = state.get(r.asset) ?? { total: ZERO, locked: ZERO };
    state.set(r.asset, { total: b.total.plus(dec(r.amount)), locked: r.bucket === 'locked' ? b.locked.plus(dec(r.amount)) : b.locked });
  }
  if (current !== null) states.push(key(state));
  return states;
}

async function outboxEvents(aggregateType: string, accountId: string): Promise<EventEnvelope[]> {
  const rows = await h.orm.em
    .fork()
    .execute<{ envelope: unknown }[]>('select envelope from outbox where aggregate_type = ? and aggregate_id = ? order by sequence', [aggregateType, accountId]);
  return rows.map((r) => parseEvent(r.envelope));
}

/** The same events for another account (new event ids), so only this test applies them. */
function copyFor(events: EventEnvelope[], from: string, to: string): EventEnvelope[] {
  return events.map((e) => JSON.parse(JSON.stringify({ ...e, eventId: randomUUID(), aggregateId: to }).split(from).join(to)) as EventEnvelope);
}

/** A random interleaving of two sequences that keeps each one's order (seeded, so a failure can be replayed). */
function interleave<T>(a: T[], b: T[], seed: number): T[] {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && rnd() < 0.5)) out.push(a[i++]);
    else out.push(b[j++]);
  }
  return out;
}

describe('the portfolio only ever answers a state the ledger had', () => {
  it('every intermediate answer of every interleaving of the funds and trades streams is one of the ledger\'s states', async () => {
    // A scenario with every kind of movement: deposits (quote, and base with a cost
    // basis), a BUY filled below its limit (a price improvement released in the fill's
    // transaction), a partial fill then a cancel, a SELL of more than was bought, a withdrawal.
    const { symbol, base } = await newInstrument(h, { feeRate: '0.001' });
    const account = await fundedAccount(h, { USD: '1000' });
    const ctx = { correlationId: `test-${randomUUID()}`, causationId: null };
    await deposit(h.orm.em.fork(), { accountId: account, asset: base, amount: '1', reference: 'in', costBasis: '90' }, ctx);
    await tick(h, symbol, '100');
    expect((await place(h, account, { symbol, side: 'BUY', quantity: '0.5', limitPrice: '101' })).status).toBe('FILLED');
    const partial = await place(h, account, { symbol, side: 'BUY', quantity: '1', limitPrice: '99' });
    await tick(h, symbol, '98', '0.4');
    await waitForOrder(h, partial.orderId, hasStatus('PARTIALLY_FILLED'));
    await h.orders.cancel(partial.orderId, 'enough', null);
    await waitForOrder(h, partial.orderId, hasStatus('CANCELLED'));
    await tick(h, symbol, '105');
    expect((await place(h, account, { symbol, side: 'SELL', quantity: '1.2', limitPrice: '105' })).status).toBe('FILLED');
    await withdraw(h.orm.em.fork(), { accountId: account, asset: base, amount: '0.3', reference: 'out' }, ctx);

    const states = await ledgerStates(account);
    const funds = await outboxEvents('funds', account);
    const trades = await outboxEvents('trades', account);
    expect(trades).toHaveLength(3);
    expect(funds.map((e) => e.eventType)).toContain('funds.settled');
    // One funds event per ledger transaction that changes the balances (a release inside a fill rides on its settlement).
    expect(funds.filter((e) => !(e.eventType === 'funds.released' && (e.data as { tradeId?: string }).tradeId))).toHaveLength(states.length - 1);

    const sub = new Subscriber(portfolioSubscriber, h.orm, p.messaging, p.topology, createLogger('consistency-test', 'silent'));
    const orders = [
      [...funds, ...trades],
      [...trades, ...funds],
      ...Array.from({ length: 12 }, (_, seed) => interleave(funds, trades, seed + 1)),
    ];
    for (const [n, order] of orders.entries()) {
      const replica = randomUUID();
      const events = copyFor(order, account, replica);
      const seen: number[] = [];
      for (const event of events) {
        expect(['applied', 'skipped']).toContain(await sub.process(event, 'stream'));
        const answer = await getPortfolio(h.orm.em.fork(), replica, null);
        const state: State = new Map(answer.cash.map((c) => [c.asset, { total: dec(c.total), locked: dec(c.locked) }]));
        // The ledger's states only move forward: looked up from the last one answered.
        const index = states.indexOf(key(state), seen[seen.length - 1] ?? 0);
        if (index < 0) throw new Error(`interleaving ${n}: after ${event.eventType} #${event.sequence} the portfolio shows ${key(state)}, which the ledger never had:\n  ${states.join('\n  ')}`);
        seen.push(index);
        const position = answer.positions.find((x) => x.symbol === symbol);
        expect(position?.netQuantity ?? '0').toBe(str(state.get(base)?.total ?? ZERO));
      }
      expect(seen[seen.length - 1]).toBe(states.length - 1);
      const final = await getPortfolio(h.orm.em.fork(), replica, null);
      expect(final.asOf?.sequence).toBe(funds.length);
    }
  });
});
