/**
 * NATS connection and the JetStream topology declared in code: streams and durable
 * consumers are created, or updated to match, idempotently at start.
 */
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  jetstream,
  jetstreamManager,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import type { Lifecycle } from '../runtime/lifecycle';

export { nanos };

export interface Messaging {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

export async function connectMessaging(url: string, name: string): Promise<Messaging> {
  const nc = await connect({
    servers: url.split(','),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
  });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  return { nc, js, jsm };
}

/** A process's NATS connection, drained at shutdown. */
export async function openMessaging(url: string, name: string, lifecycle: Lifecycle): Promise<Messaging> {
  const m = await connectMessaging(url, name);
  lifecycle.onShutdown('nats', () => m.nc.drain());
  return m;
}

/** Subject and stream naming under a prefix (empty in production, run-unique in tests). */
export class Topology {
  constructor(readonly prefix: string) {}

  subject(s: string): string {
    return this.prefix ? `${this.prefix}.${s}` : s;
  }

  /** Strips the prefix off a received subject. */
  unprefix(s: string): string {
    return this.prefix && s.startsWith(`${this.prefix}.`) ? s.slice(this.prefix.length + 1) : s;
  }

  stream(name: string): string {
    return this.prefix ? `${this.prefix}_${name}` : name;
  }
}

export type StreamSpec = Pick<StreamConfig, 'name' | 'subjects'> & Partial<StreamConfig>;
export type ConsumerSpec = { stream: string } & Pick<ConsumerConfig, 'durable_name'> & Partial<ConsumerConfig>;

const DAY_MS = 24 * 60 * 60 * 1000;

/** Defaults every stream of this service has: file storage, a duplicate window for Nats-Msg-Id. */
export function streamDefaults(): Partial<StreamConfig> {
  return {
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(2 * 60 * 1000),
    max_age: nanos(365 * DAY_MS),
    num_replicas: 1,
  };
}

/** Durable pull consumer defaults: explicit acks, from the start of the stream. */
export function consumerDefaults(): Partial<ConsumerConfig> {
  return {
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(30_000),
    max_ack_pending: 1_000,
  };
}

function isNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.status === 404;
}

/** Creates each stream, or updates it when its configuration changed. */
export async function ensureStreams(jsm: JetStreamManager, specs: StreamSpec[]): Promise<void> {
  for (const spec of specs) {
    const config = { ...streamDefaults(), ...spec } as StreamConfig;
    try {
      await jsm.streams.info(spec.name);
      await jsm.streams.update(spec.name, config);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await jsm.streams.add(config);
    }
  }
}

/** Creates each durable consumer, or updates it when its configuration changed. */
export async function ensureConsumers(jsm: JetStreamManager, specs: ConsumerSpec[]): Promise<void> {
  for (const { stream, ...spec } of specs) {
    const config = { ...consumerDefaults(), ...spec } as ConsumerConfig;
    try {
      await jsm.consumers.info(stream, spec.durable_name as string);
      // deliver_policy and a few others are immutable once created; the rest is updatable.
      const { deliver_policy: _dp, opt_start_seq: _os, opt_start_time: _ot, ...updatable } = config;
      await jsm.consumers.update(stream, spec.durable_name as string, updatable);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await jsm.consumers.add(stream, config);
    }
  }
}
