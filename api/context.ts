/** What every API handler sees: its dependencies, the request's EntityManager fork, the caller. */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { ParameterizedContext } from 'koa';
import type { RouterContext } from '@koa/router';
import type { AppConfig } from '../config';
import type { EventContext } from '../domain/causation';
import type { Messaging, Topology } from '../messaging/nats';
import type { Orm } from '../persistence/orm';
import type { Logger } from '../runtime/logger';
import type { SimulatedVenue } from '../venue/simulated/venue';
import type { OrderClient } from '../clients/order-client';
import type { LiveStreams } from './live-streams';
import type { ReadinessCheck } from './readiness';

export interface ApiDeps {
  config: Pick<
    AppConfig,
    'NODE_ENV' | 'OPERATOR_API_KEY' | 'WEBHOOK_ALLOW_PRIVATE' | 'RATE_LIMIT_PER_SECOND' | 'RATE_LIMIT_BURST' | 'MAX_STREAMS_PER_KEY' | 'STREAM_MAX_BUFFER_BYTES'
  >;
  orm: Orm;
  orders: OrderClient;
  /** The simulated venue, when it is the configured venue (its market routes are mounted then). */
  venue: SimulatedVenue | null;
  /** The parts GET /readyz checks (readiness.ts). */
  readiness: ReadinessCheck[];
  logger: Logger;
  /** JetStream, for the live event stream (GET /events). */
  messaging: Messaging;
  topology: Topology;
  /** The open live event streams: capped per key, ended at shutdown. */
  liveStreams: LiveStreams;
}

export interface AppState {
  /** One EntityManager fork per request. */
  em: EntityManager;
  correlationId: string;
  /** Correlation, causation and trace ids for the events this request causes. */
  events: EventContext;
  logger: Logger;
}

export type AppContext = ParameterizedContext<AppState> & RouterContext<AppState>;
