/** Runs the real Koa app on a free port over a harness, and a small fetch client for it. */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createApp } from '../../api/app';
import { LiveStreams, stopServing } from '../../api/live-streams';
import type { ApiDeps } from '../../api/context';
import { readinessChecks, type ReadinessCheck } from '../../api/readiness';
import { connectMessaging, Topology } from '../../messaging/nats';
import { createLogger } from '../../runtime/logger';
import type { Harness } from './harness';

export const OPERATOR_KEY = 'test-operator-key-0123456789';

export interface Api {
  url: string;
  request(method: string, path: string, opts?: { key?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<{
    status: number;
    headers: Headers;
    body: any;
  }>;
  liveStreams: LiveStreams;
  /** Stops serving as the API process does on SIGTERM (open streams end, in-flight requests finish). */
  stop(): Promise<void>;
  close(): Promise<void>;
}

export async function startApi(h: Harness, readiness?: ReadinessCheck[], config: Partial<ApiDeps['config']> = {}): Promise<Api> {
  const messaging = await connectMessaging(h.config.NATS_URL, 'api-test');
  const liveStreams = new LiveStreams(config.MAX_STREAMS_PER_KEY ?? h.config.MAX_STREAMS_PER_KEY, config.STREAM_MAX_BUFFER_BYTES ?? h.config.STREAM_MAX_BUFFER_BYTES);
  const topology = new Topology(h.config.EVENTS_PREFIX);
  const app = createApp({
    liveStreams,
    messaging,
    topology,
    config: { ...h.config, OPERATOR_API_KEY: OPERATOR_KEY, ...config },
    orm: h.orm,
    orders: h.orders,
    venue: h.venue,
    logger: createLogger('api-test', process.env.API_LOG ?? 'silent'),
    readiness: readiness ?? readinessChecks({ config: { ...h.config, TEMPORAL_TASK_QUEUE: h.taskQueue }, temporal: h.client, orm: h.orm, messaging, topology }),
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    async request(method, path, opts = {}) {
      const headers: Record<string, string> = { ...opts.headers };
      const key = opts.key === undefined ? OPERATOR_KEY : opts.key;
      if (key) headers.authorization = `Bearer ${key}`;
      let body: string | undefined = opts.raw;
      if (opts.body !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(opts.body);
      } else if (opts.raw !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${url}${path}`, { method, headers, body });
      const text = await res.text();
      return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
    },
    liveStreams,
    stop: () => stopServing(server, liveStreams),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await messaging.nc.close();
    },
  };
}
