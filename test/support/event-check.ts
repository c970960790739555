/**
 * The events an account's scenario produced, checked against what happened: every
 * envelope valid against the catalogue, sequences gapless from 1 per aggregate, one
 * order event per transition in the order of the transitions (stated here from the
 * reference, independently of the code that derives them), one trade per fill, one
 * funds event per deposit, withdrawal and lock.
 */
import { expect } from '@jest/globals';
import { parseEvent, type EventEnvelope } from '../../events/catalogue';
import type { Harness } from './harness';

function expectedOrderEvent(from: string | null, to: string, hasFill: boolean): string {
  if (from === null) return 'order.created';
  if (to === 'ACCEPTED') return from === 'PENDING_CANCEL' ? 'order.cancel_refused' : 'order.accepted';
  if (to === 'PARTIALLY_FILLED' && !hasFill) return 'order.cancel_refused';
  return `order.${{ PARTIALLY_FILLED: 'partially_filled', FILLED: 'filled', PENDING_CANCEL: 'cancel_requested', CANCELLED: 'cancelled', EXPIRED: 'expired', REJECTED: 'rejected' }[to]}`;
}

async function eventsOf(h: Harness, aggregateType: string, aggregateId: string): Promise<EventEnvelope[]> {
  const rows = await h.orm.em
    .fork()
    .execute<{ envelope: unknown }[]>('select envelope from outbox where aggregate_type = ? and aggregate_id = ? order by sequence', [aggregateType, aggregateId]);
  const events = rows.map((r) => parseEvent(r.envelope));
  expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
  return events;
}

export async function expectEventsMatch(h: Harness, accountId: string): Promise<void> {
  const em = h.orm.em.fork();
  const orders = await em.execute<{ id: string; status: string; version: number }[]>('select id, status, version from orders where account_id = ?', [accountId]);
  let fills = 0;
  for (const order of orders) {
    const transitions = await em.execute<{ from_status: string | null; to_status: string; version: number }[]>(
      'select from_status, to_status, version from order_transitions where order_id = ? order by version',
      [order.id],
    );
    const fillVersions = new Set(
      (await em.execute<{ order_version: number }[]>('select order_version from order_fills where order_id = ?', [order.id])).map((f) => f.order_version),
    );
    fills += fillVersions.size;
    const events = (await eventsOf(h, 'order', order.id)).filter((e) => e.eventType !== 'order.fill_refused');
    expect([order.id, events.map((e) => e.eventType)]).toEqual([
      order.id,
      transitions.map((t) => expectedOrderEvent(t.from_status, t.to_status, fillVersions.has(t.version))),
    ]);
    const last = events[events.length - 1]?.data as { order: { status: string; version: number } };
    expect(last.order).toMatchObject({ status: order.status, version: order.version });
  }

  const trades = await eventsOf(h, 'trades', accountId);
  expect(trades.every((t) => t.eventType === 'trade.executed')).toBe(true);
  expect(trades).toHaveLength(fills);

  const funds = await eventsOf(h, 'funds', accountId);
  const count = async (sql: string) => Number((await em.execute<{ n: string }[]>(sql, [accountId]))[0].n);
  expect(funds.filter((f) => f.eventType === 'funds.deposited')).toHaveLength(await count(`select count(*) as n from ledger_transactions where account_id = ? and kind = 'DEPOSIT'`));
  expect(funds.filter((f) => f.eventType === 'funds.withdrawn')).toHaveLength(await count(`select count(*) as n from ledger_transactions where account_id = ? and kind = 'WITHDRAWAL'`));
  expect(funds.filter((f) => f.eventType === 'funds.locked')).toHaveLength(await count(`select count(*) as n from ledger_transactions where account_id = ? and kind = 'LOCK'`));
}
