/**
 * Readiness: whether orders can flow through this deployment now (GET /readyz), each
 * part checked on its own. A check throws (with why) when its part is down and returns
 * what it saw when it is up.
 *
 * - temporal: the server answers, and at least one worker polls the order task queue
 *   (DescribeTaskQueue: a poller seen within the last POLLER_SEEN_MS; without one every
 *   order would answer 202 forever);
 * - postgres, jetstream: they answer;
 * - relay: the oldest event waiting in the outbox is younger than READY_MAX_RELAY_LAG_MS;
 * - subscriber:<name>: each of its durable consumers exists and has at most
 *   READY_MAX_CONSUMER_LAG events pending or unacknowledged;
 * - breakers: the circuit breakers the running processes report (not closed ones, and
 *   every worker's venue breaker): down while a venue breaker is open (orders cannot
 *   reach the venue); an open webhook breaker is listed but is a receiver's trouble,
 *   not ours.
 */
import type { Client } from '@temporalio/client';
import type { AppConfig } from '../config';
import type { Messaging, Topology } from '../messaging/nats';
import type { Orm } from '../persistence/orm';
import { liveBreakerStates } from '../persistence/breakers/repository';
import { oldestUnpublishedAgeMs } from '../persistence/outbox/repository';
import { VENUE_BREAKER } from '../venue/breaker-exchange';
import { consumerName, consumerSpecsFor } from '../subscribers/framework';
import { SUBSCRIBERS } from '../subscribers/registry';

export interface ReadinessCheck {
  name: string;
  /** Throws when the part is down; returns what it saw otherwise. */
  check: () => Promise<Record<string, unknown> | void>;
}

/**
 * Pollers wait at the server up to about a minute per poll, and the server remembers
 * one for a while after its last poll: one seen within this window is a live worker.
 */
export const POLLER_SEEN_MS = 90_000;
const TASK_QUEUE_KIND_WORKFLOW = 1;
/** Processes report their breakers every 5 s: an older report is a process that is gone. */
const BREAKER_REPORT_FRESH_MS = 20_000;

export interface ReadinessDeps {
  config: Pick<AppConfig, 'TEMPORAL_NAMESPACE' | 'TEMPORAL_TASK_QUEUE' | 'READY_MAX_RELAY_LAG_MS' | 'READY_MAX_CONSUMER_LAG' | 'SUBSCRIBER_ACK_WAIT_MS'>;
  temporal: Client;
  orm: Orm;
  messaging: Messaging;
  topology: Topology;
}

export function readinessChecks(d: ReadinessDeps): ReadinessCheck[] {
  const { config } = d;
  return [
    {
      name: 'temporal',
      check: async () => {
        const { pollers } = await d.temporal.workflowService.describeTaskQueue({
          namespace: config.TEMPORAL_NAMESPACE,
          taskQueue: { name: config.TEMPORAL_TASK_QUEUE },
          taskQueueType: TASK_QUEUE_KIND_WORKFLOW,
        });
        const now = Date.now();
        const live = (pollers ?? []).filter((p) => p.lastAccessTime && now - Number(p.lastAccessTime.seconds ?? 0) * 1000 < POLLER_SEEN_MS);
        if (live.length === 0) throw new Error(`no worker polls the task queue ${config.TEMPORAL_TASK_QUEUE}`);
        return { taskQueue: config.TEMPORAL_TASK_QUEUE, workers: live.length };
      },
    },
    { name: 'postgres', check: async () => void (await d.orm.em.fork().execute('select 1')) },
    { name: 'jetstream', check: async () => void (await d.messaging.jsm.getAccountInfo()) },
    {
      name: 'relay',
      check: async () => {
        const oldestUnpublishedMs = await oldestUnpublishedAgeMs(d.orm.em.fork());
        if (oldestUnpublishedMs > config.READY_MAX_RELAY_LAG_MS) {
          throw new Error(`the oldest unpublished event waits for ${oldestUnpublishedMs} ms (limit ${config.READY_MAX_RELAY_LAG_MS})`);
        }
        return { oldestUnpublishedMs };
      },
    },
    {
      name: 'breakers',
      check: async () => {
        const reports = await liveBreakerStates(d.orm.em.fork(), BREAKER_REPORT_FRESH_MS);
        const listed = reports.flatMap((r) => r.breakers.map((b) => ({ process: r.process, instance: r.instance, ...b })));
        const venueOpen = listed.filter((b) => b.name === VENUE_BREAKER && b.state === 'open');
        if (venueOpen.length > 0) throw new Error(`the venue's circuit breaker is open in ${venueOpen.map((b) => `${b.process} ${b.instance} since ${b.since}`).join(', ')}`);
        return { breakers: listed };
      },
    },
    ...Object.values(SUBSCRIBERS).map((def) => ({
      name: `subscriber:${def.name}`,
      check: async () => {
        const lag: Record<string, number> = {};
        for (const spec of consumerSpecsFor(def, d.topology, config.SUBSCRIBER_ACK_WAIT_MS)) {
          if (spec.durable_name === consumerName(def.name, 'redrive')) continue;
          const info = await d.messaging.jsm.consumers.info(spec.stream, spec.durable_name as string).catch(() => {
            throw new Error(`its consumer ${spec.durable_name} does not exist`);
          });
          lag[spec.durable_name as string] = info.num_pending + info.num_ack_pending;
        }
        const worst = Math.max(0, ...Object.values(lag));
        if (worst > config.READY_MAX_CONSUMER_LAG) throw new Error(`${worst} events waiting (limit ${config.READY_MAX_CONSUMER_LAG}): ${JSON.stringify(lag)}`);
        return { lag };
      },
    })),
  ];
}
