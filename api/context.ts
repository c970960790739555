/** What every API handler sees: its dependencies, the request's EntityManager fork, the caller. */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { ParameterizedContext } from 'koa';
import type { RouterContext } from '@koa/router';
import type { AppConfig } from '../config';
import type { EventContext } from '../events/outbox';
import type { Messaging, Topology } from '../messaging/nats';
import type { Orm } from '../persistence/orm';
import type { Logger } from '../runtime/logger';
import type { FillDispatcher } from '../venue/fill-dispatcher';
import type { SimulatedVenue } from '../venue/simulated-venue';
import type { OrderCommands } from './order-commands';

export interface HealthCheck {
  name: string;
  check: () => Promise<void>;
}

export interface ApiDeps {
  config: Pick<AppConfig, 'OPERATOR_API_KEY'>;
  orm: Orm;
  orders: OrderCommands;
  venue: SimulatedVenue;
  dispatcher: Pick<FillDispatcher, 'kick'>;
  health: HealthCheck[];
  logger: Logger;
  /** JetStream, for the live event stream (GET /events). */
  messaging: Messaging;
  topology: Topology;
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
