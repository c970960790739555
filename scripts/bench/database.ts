/**
 * What the benchmark reads from the service's database when it has one (always when
 * it started the system itself; with --database-url otherwise): when the portfolio
 * subscriber applied each fill, and how long events took from their outbox commit
 * until every subscriber had applied them. Times are the database's own clock on
 * both ends, so the client's clock never enters a figure.
 *
 * A fill reaches the subscribers as events committed together: `order.filled`
 * (stream ORDERS: notification, report), `trade.executed` (stream TRADES: no
 * subscriber of ours), `funds.released` for a price improvement and `funds.settled`
 * (stream FUNDS: portfolio, report). The portfolio applies a fill when it applies its
 * `funds.settled`.
 */
import { Client } from 'pg';
import { STREAM_OF_AGGREGATE } from '../../events/streams';
import { SUBSCRIBERS } from '../../subscribers/registry';

/** Which subscribers apply events of each aggregate type (from their subscriptions). */
export function subscribersByAggregate(): Array<{ aggregateType: string; subscriber: string }> {
  const out: Array<{ aggregateType: string; subscriber: string }> = [];
  for (const [aggregateType, stream] of Object.entries(STREAM_OF_AGGREGATE)) {
    for (const def of Object.values(SUBSCRIBERS)) {
      if (def.subscriptions.some((s) => s.stream === stream)) out.push({ aggregateType, subscriber: def.name });
    }
  }
  return out;
}

export interface LagFigures {
  /** Events (or fills) in the window. */
  total: number;
  /** Those every subscriber applied; the percentiles are over these. */
  complete: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

export interface EventLag {
  /** Each event: its outbox commit until the last of its stream's subscribers applied it. */
  perEvent: LagFigures;
  /** Each fill: the commit of its order.filled until all three subscribers applied all of the fill's events. */
  perFill: LagFigures;
}

export interface FillsApplied {
  count: number;
  /** From `since` until the last one was applied. */
  lastMs: number | null;
  /** When each was applied, ms after `since` (ascending). */
  appliedMs: number[];
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Math.round(Number(v) * 10) / 10);

export class BenchDatabase {
  private constructor(private readonly client: Client) {}

  static async connect(databaseUrl: string): Promise<BenchDatabase> {
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    return new BenchDatabase(client);
  }

  /** The database's clock now, as text (microseconds kept), to pass back as a bound. */
  async now(): Promise<string> {
    const { rows } = await this.client.query<{ t: string }>('select clock_timestamp()::text as t');
    return rows[0].t;
  }

  /** How many of these fills (by trade id; their funds.settled committed after `since`) the portfolio subscriber applied. */
  async countFillsApplied(tradeIds: readonly string[], since: string): Promise<number> {
    const { rows } = await this.client.query<{ n: string }>(`select count(*) as n ${PORTFOLIO_FILLS}`, [tradeIds, since]);
    return Number(rows[0].n);
  }

  /** Those fills, with when each was applied (ms after `since`). */
  async fillsApplied(tradeIds: readonly string[], since: string): Promise<FillsApplied> {
    const { rows } = await this.client.query<{ ms: string }>(
      `select extract(epoch from pe.processed_at - $2::timestamptz) * 1000 as ms ${PORTFOLIO_FILLS} order by ms`,
      [tradeIds, since],
    );
    const appliedMs = rows.map((r) => Math.round(Number(r.ms) * 10) / 10);
    return { count: appliedMs.length, lastMs: appliedMs.length ? appliedMs[appliedMs.length - 1] : null, appliedMs };
  }

  /** Outbox events committed in [from, to] still waiting for at least one of their subscribers. */
  async unappliedEvents(from: string, to: string): Promise<number> {
    const { rows } = await this.client.query<{ n: string }>(
      `${EXPECTED_CTE}
       select count(*) as n from (
         select o.event_id from outbox o join expected x on x.aggregate_type = o.aggregate_type
         left join processed_events pe on pe.event_id = o.event_id and pe.subscriber = x.subscriber
         where o.created_at between $2::timestamptz and $3::timestamptz
         group by o.event_id having count(pe.subscriber) < count(*)
       ) t`,
      [JSON.stringify(subscribersByAggregate()), from, to],
    );
    return Number(rows[0].n);
  }

  async eventLag(from: string, to: string): Promise<EventLag> {
    const params = [JSON.stringify(subscribersByAggregate()), from, to];
    const figures = `count(*) as total, count(*) filter (where complete) as complete,
       percentile_cont(0.5) within group (order by ms) filter (where complete) as p50,
       percentile_cont(0.99) within group (order by ms) filter (where complete) as p99,
       max(ms) filter (where complete) as max`;
    const { rows: perEvent } = await this.client.query(
      `${EXPECTED_CTE},
       per as (
         select o.event_id, count(pe.subscriber) = count(*) as complete,
                extract(epoch from max(pe.processed_at) - o.created_at) * 1000 as ms
         from outbox o join expected x on x.aggregate_type = o.aggregate_type
         left join processed_events pe on pe.event_id = o.event_id and pe.subscriber = x.subscriber
         where o.created_at between $2::timestamptz and $3::timestamptz
         group by o.event_id, o.created_at
       )
       select ${figures} from per`,
      params,
    );
    // A fill's events: its order.filled and everything that names it as its cause.
    const { rows: perFill } = await this.client.query(
      `${EXPECTED_CTE},
       fills as (
         select event_id, created_at from outbox
         where event_type in ('order.filled', 'order.partially_filled') and created_at between $2::timestamptz and $3::timestamptz
       ),
       members as (
         select f.event_id as fill_id, f.created_at, f.event_id, 'order' as aggregate_type from fills f
         union all
         select f.event_id, f.created_at, o.event_id, o.aggregate_type from fills f join outbox o on o.envelope->>'causationId' = f.event_id::text
       ),
       per as (
         select m.fill_id, count(pe.subscriber) = count(*) as complete,
                extract(epoch from max(pe.processed_at) - m.created_at) * 1000 as ms
         from members m join expected x on x.aggregate_type = m.aggregate_type
         left join processed_events pe on pe.event_id = m.event_id and pe.subscriber = x.subscriber
         group by m.fill_id, m.created_at
       )
       select ${figures} from per`,
      params,
    );
    const shape = (r: Record<string, unknown>): LagFigures => ({
      total: Number(r.total),
      complete: Number(r.complete),
      p50Ms: num(r.p50),
      p99Ms: num(r.p99),
      maxMs: num(r.max),
    });
    return { perEvent: shape(perEvent[0]), perFill: shape(perFill[0]) };
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}

/** The portfolio's applied funds.settled rows of the trades $1, committed after $2. */
const PORTFOLIO_FILLS = `from processed_events pe join outbox o on o.event_id = pe.event_id
  where pe.subscriber = 'portfolio' and pe.event_type = 'funds.settled'
    and o.event_type = 'funds.settled' and o.created_at >= $2::timestamptz and o.envelope->'data'->>'tradeId' = any($1::text[])`;

/** (aggregate type, subscriber) pairs, passed as JSON in $1. */
const EXPECTED_CTE = `with expected as (
  select e->>'aggregateType' as aggregate_type, e->>'subscriber' as subscriber from jsonb_array_elements($1::jsonb) e
)`;
