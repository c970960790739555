/**
 * Typed configuration, read from the environment and validated once at boot.
 * Every process (API, worker, relay, subscribers, scripts) calls loadConfig();
 * a bad value stops the process with a message naming the variable.
 */
import { z } from 'zod';

/** "true"/"false" (also 1/0, yes/no); anything else is refused with the variable's name. */
const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** The operator key a development checkout starts with; public, so refused in production. */
export const DEVELOPMENT_OPERATOR_KEY = 'dev-operator-key-change-me';

const decimalString = z.string().regex(/^\d+(\.\d+)?$/, 'must be a non-negative decimal, e.g. 0.05');

const settings = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('orders'),
  /** Port of the Temporal Web UI that `npm start` serves with its dev server. */
  TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .default('postgres://postgres@127.0.0.1:5432/order_service'),
  NATS_URL: z.string().min(1).default('nats://127.0.0.1:4222'),
  /** Prefix for every subject and stream name: empty in production, run-unique in tests. */
  EVENTS_PREFIX: z
    .string()
    .regex(/^([a-z0-9_]+)?$/, 'lower-case letters, digits and _ only')
    .default(''),
  OPERATOR_API_KEY: z.string().min(16, 'must be at least 16 characters').default(DEVELOPMENT_OPERATOR_KEY),
  /** Where `npm start` keeps the Temporal dev server's database. */
  DATA_DIR: z.string().min(1).default('.data'),
  /** End of the trading day for DAY orders, UTC, HH:MM or HH:MM:SS. */
  TRADING_DAY_CLOSE_UTC: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/, 'must be HH:MM or HH:MM:SS (UTC)')
    .default('21:00'),
  /**
   * The venue orders go to. `simulated` (the only adapter in this repository) keeps a
   * book in PostgreSQL, takes market ticks at POST /market/ticks and runs its fill
   * dispatcher as the `venue` process.
   */
  VENUE: z.enum(['simulated']).default('simulated'),
  /** A MARKET order locks and is protected at last price x (1 +/- collar). */
  MARKET_ORDER_COLLAR: decimalString.default('0.05'),
  /** How long POST /orders waits for validation and fund locking before answering 202. */
  ORDER_ACK_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /**
   * How long an order may take to reach the venue (retries included) before it is
   * given up: REJECTED with its lock released, once the venue confirms it holds none
   * of it. Bounds what a venue outage at submission can hold locked.
   */
  ORDER_SUBMISSION_DEADLINE_MS: z.coerce.number().int().positive().default(60_000),
  /**
   * Order workflows the worker keeps in memory between their tasks. A resting order
   * evicted from the cache is replayed from its (short) history at its next fill or
   * cancel; the bound keeps the worker's memory flat however many orders rest.
   */
  ORDER_WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().positive().default(1_000),
  /** Interval at which the venue re-delivers fills that did not reach their order. */
  VENUE_REDELIVERY_INTERVAL_MS: z.coerce.number().int().positive().default(2_000),
  /** Failed publishes after which the relay sets an outbox event aside (and alerts); its aggregate waits behind it. */
  OUTBOX_MAX_PUBLISH_ATTEMPTS: z.coerce.number().int().positive().default(20),
  /** How long a subscriber's delivered event may stay unacknowledged before JetStream redelivers it. */
  SUBSCRIBER_ACK_WAIT_MS: z.coerce.number().int().min(1_000).default(30_000),
  /** Event streams (ORDERS, FUNDS, TRADES, ACCOUNTS): how long and how much JetStream keeps, each. */
  // At least the 2-minute duplicate window (JetStream refuses less); 0.01 days is 14.4 minutes.
  EVENT_STREAM_MAX_AGE_DAYS: z.coerce.number().min(0.01).default(30),
  EVENT_STREAM_MAX_BYTES: z.coerce.number().int().positive().default(1024 ** 3),
  /** DEAD_LETTERS: how long a dead letter can be redriven. */
  DEAD_LETTERS_MAX_AGE_DAYS: z.coerce.number().min(0.01).default(30),
  /** Retention job (a Temporal Schedule): how often it runs, and the age of what it deletes. */
  RETENTION_INTERVAL_MINUTES: z.coerce.number().positive().default(60),
  RETENTION_OUTBOX_DAYS: z.coerce.number().nonnegative().default(7),
  RETENTION_PROCESSED_EVENTS_DAYS: z.coerce.number().nonnegative().default(31),
  RETENTION_VENUE_FILLS_DAYS: z.coerce.number().nonnegative().default(7),
  RETENTION_NOTIFICATIONS_DAYS: z.coerce.number().nonnegative().default(30),
  /** How often each subscriber process snapshots its projection (a rebuild starts from the latest). */
  SNAPSHOT_INTERVAL_MINUTES: z.coerce.number().positive().default(60),
  /**
   * Let webhooks point at loopback, private, link-local and other non-public
   * addresses (development and tests, with receivers on 127.0.0.1). Off: refused at
   * registration and at send time.
   */
  WEBHOOK_ALLOW_PRIVATE: flag.default(false),
  /** API requests a second per key (and per IP address without a valid key); high by default. */
  RATE_LIMIT_PER_SECOND: z.coerce.number().int().positive().default(1_000),
  /** Requests over the rate a key may make in a burst, within any 10 s. */
  RATE_LIMIT_BURST: z.coerce.number().int().min(0).default(2_000),
  /** Live event streams (GET /events) one key may hold open at once. */
  MAX_STREAMS_PER_KEY: z.coerce.number().int().positive().default(10),
  /** What a live event stream may buffer for a client that does not keep up before it is disconnected. */
  STREAM_MAX_BUFFER_BYTES: z.coerce.number().int().positive().default(1_048_576),
  /** /readyz: the oldest event waiting for the relay may be this old (ms) before the service is not ready. */
  READY_MAX_RELAY_LAG_MS: z.coerce.number().int().min(0).default(30_000),
  /** /readyz: events a subscriber's consumer may have waiting (pending + unacknowledged) before the service is not ready. */
  READY_MAX_CONSUMER_LAG: z.coerce.number().int().min(0).default(10_000),
  /** Circuit breakers (venue submission, webhook delivery): consecutive failures that open one. */
  BREAKER_FAILURE_THRESHOLD: z.coerce.number().int().positive().default(5),
  /** How long an open breaker refuses calls before it lets one probe through (ms). */
  BREAKER_HALF_OPEN_AFTER_MS: z.coerce.number().int().positive().default(10_000),
  /** Graceful shutdown limit before a process exits anyway. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
});

/** The settings, and the rules between them. */
export const configSchema = settings.superRefine((c, ctx) => {
  if (c.NODE_ENV === 'production' && c.OPERATOR_API_KEY === DEVELOPMENT_OPERATOR_KEY) {
    ctx.addIssue({ code: 'custom', path: ['OPERATOR_API_KEY'], message: 'must be set in production: the development default is public' });
  }
});

export type AppConfig = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = configSchema.safeParse(
    // Empty strings mean "unset" for every variable except the prefix.
    Object.fromEntries(Object.entries(env).filter(([k, v]) => v !== '' || k === 'EVENTS_PREFIX')),
  );
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  return parsed.data;
}
