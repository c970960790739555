/**
 * A dead letter never freezes an aggregate, and held events never stop a consumer
 * (subscribers/framework.ts), on real JetStream and PostgreSQL:
 *
 * - more events held back than the consumer's ack-pending budget (256) do not stop it:
 *   another aggregate's event is applied meanwhile, and the held ones are applied in
 *   order once the missing event arrives;
 * - an event dead-lettered for its schema, or after its retries, moves its aggregate's
 *   position past it, so the later events of that aggregate are applied;
 * - an event held too long raises an ALERT log line.
 *
 * The events are `account.created` events of aggregates of the test's own (fresh ids)
 * on the ACCOUNTS stream, which no subscriber of the service reads: the gaps these
 * tests open for a while never reach a real subscriber (nor a rebuild running at the
 * same time in another test file). The alert is shown without JetStream at all.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { EventEnvelope } from '../../events/catalogue';
import { heldSummary } from '../../persistence/subscriber-state/repository';
import { createLogger } from '../../runtime/logger';
import { listDeadLetters } from '../../subscribers/dead-letters';
import { consumerName, Subscriber, type SubscriberDefinition } from '../../subscribers/framework';
import { startHarness, type Harness } from '../support/harness';
import { eventually, startPipeline, type Pipeline } from '../support/pipeline';

let h: Harness;
let p: Pipeline;
const logger = createLogger('held-test', process.env.FW_LOG ?? 'silent');
const running: Subscriber[] = [];

beforeAll(async () => {
  h = await startHarness();
  p = await startPipeline(h);
  await h.orm.em.fork().execute(`
    create table if not exists test_held_effects (
      subscriber text not null, aggregate_id text not null, sequence int not null,
      applied_at timestamptz not null default clock_timestamp(), primary key (subscriber, aggregate_id, sequence))`);
});
afterAll(async () => {
  for (const s of running) await s.stop();
  await p?.close();
  await h?.close();
});

/** The subject token of the test running now: each test's subscriber sees only its own events. */
let tag = '';
beforeEach(() => {
  tag = `held${randomUUID().slice(0, 8)}`;
});

/** A subscriber of the running test's events that records what it applies. */
function recorder(extra: Partial<SubscriberDefinition> = {}): SubscriberDefinition {
  return {
    name: `held-${randomUUID().slice(0, 8)}`,
    subscriptions: [{ stream: 'accounts', filterSubject: `accounts.${tag}.*` }],
    maxAttempts: 2,
    async handle(em: EntityManager, e: EventEnvelope) {
      await em.execute('insert into test_held_effects (subscriber, aggregate_id, sequence) values (?, ?, ?)', [this.name, e.aggregateId, e.sequence]);
    },
    ...extra,
  };
}

async function run(def: SubscriberDefinition, options: ConstructorParameters<typeof Subscriber>[5] = {}): Promise<Subscriber> {
  const sub = new Subscriber(def, h.orm, p.messaging, p.topology, logger, { ackWaitMs: 3_000, batch: 16, ...options });
  await sub.start();
  running.push(sub);
  return sub;
}

/** Event `sequence` of `aggregate` (an account.created, whatever the sequence: the runner only orders). */
function eventOf(aggregate: string, sequence: number): any {
  return {
    eventId: randomUUID(), eventType: 'account.created', eventVersion: 1, timestamp: new Date().toISOString(), source: 'held-test',
    correlationId: null, causationId: null, aggregateType: 'account', aggregateId: aggregate, sequence, data: { accountId: aggregate, name: 'held' },
  };
}

/** Publishes event `sequence` of `aggregate` (optionally broken); its eventId. */
async function publish(aggregate: string, sequence: number, change: (e: any) => void = () => undefined): Promise<string> {
  const e = eventOf(aggregate, sequence);
  change(e);
  await p.messaging.js.publish(p.topology.subject(`accounts.${tag}.${aggregate}`), JSON.stringify(e), { msgID: e.eventId });
  return e.eventId;
}

const applied = async (subscriber: string, aggregate: string) =>
  (
    await h.orm.em
      .fork()
      .execute<{ sequence: number }[]>('select sequence from test_held_effects where subscriber = ? and aggregate_id = ? order by applied_at', [subscriber, aggregate])
  ).map((r) => r.sequence);

describe('held events and dead letters', () => {
  it('more events held than the ack-pending budget do not stop the consumer; they are applied in order when the gap closes', async () => {
    const def = recorder();
    await run(def);
    const [x, y] = [randomUUID(), randomUUID()];
    const HELD = 300; // the consumers' max_ack_pending is 256
    for (let seq = 2; seq <= HELD + 1; seq++) await publish(x, seq);
    await publish(y, 1);

    // Another aggregate's event is applied while all of those are held.
    await eventually(() => applied(def.name, y), (s) => s.length === 1);
    await eventually(() => heldSummary(h.orm.em.fork(), def.name), (s) => s.held === HELD);
    const info = await eventually(
      () => p.messaging.jsm.consumers.info(p.topology.stream('ACCOUNTS'), consumerName(def.name, 'accounts')),
      (i) => i.num_ack_pending === 0 && i.num_pending === 0,
    );
    expect(info.num_ack_pending).toBe(0);
    expect(await applied(def.name, x)).toEqual([]);

    // The missing first event arrives: everything is applied, in order.
    await publish(x, 1);
    const all = await eventually(() => applied(def.name, x), (s) => s.length === HELD + 1, 60_000);
    expect(all).toEqual(Array.from({ length: HELD + 1 }, (_, i) => i + 1));
    expect((await heldSummary(h.orm.em.fork(), def.name)).held).toBe(0);
  });

  it('an event dead-lettered for its schema moves its aggregate on: the later events are applied', async () => {
    const def = recorder();
    await run(def);
    const x = randomUUID();
    await publish(x, 2); // arrives first: held
    await publish(x, 3);
    const broken = await publish(x, 1, (e) => (e.data.accountId = 'not-a-uuid'));
    const [letter] = await eventually(() => listDeadLetters(p.messaging, p.topology, def.name), (l) => l.length === 1);
    expect(letter).toMatchObject({ eventId: broken, eventType: 'account.created' });
    expect(letter.error).toMatch(/^invalid account\.created@1/);
    expect(await eventually(() => applied(def.name, x), (s) => s.length === 2)).toEqual([2, 3]);
  });

  it('an event dead-lettered after its retries moves its aggregate on, even when it failed before its turn', async () => {
    const x = randomUUID();
    let poison = '';
    const def = recorder({
      async handle(em: EntityManager, e: EventEnvelope) {
        if (e.eventId === poison) throw new Error('this handler cannot take it');
        await em.execute('insert into test_held_effects (subscriber, aggregate_id, sequence) values (?, ?, ?)', [def.name, e.aggregateId, e.sequence]);
      },
    });
    await run(def);
    await publish(x, 3);
    poison = await publish(x, 2); // fails at its turn, which comes after 1
    await publish(x, 1);
    const [letter] = await eventually(() => listDeadLetters(p.messaging, p.topology, def.name), (l) => l.length === 1);
    expect(letter).toMatchObject({ eventId: poison, deliveryCount: 2 });
    expect(await eventually(() => applied(def.name, x), (s) => s.length === 2)).toEqual([1, 3]);
  });

  it('an event held too long raises an ALERT', async () => {
    const lines: { msg: string; held?: number }[] = [];
    const alerting = createLogger('held-alert', 'error', { write: (s: string) => void lines.push(JSON.parse(s)) });
    const def = recorder();
    const sub = new Subscriber(def, h.orm, p.messaging, p.topology, alerting, { ackWaitMs: 3_000, heldAlertMs: 0, heldRoundMs: 200 });
    await sub.start();
    running.push(sub);
    // Straight to the runner: nothing published, so no gap is left on the stream.
    expect(await sub.process(eventOf(randomUUID(), 5), 'stream')).toBe('held');
    const alerts = await eventually(
      async () => lines.filter((l) => l.msg.startsWith('ALERT: events held back')),
      (a) => a.length >= 1,
    );
    expect(alerts[0].held).toBe(1);
  });
});
