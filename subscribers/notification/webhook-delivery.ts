/**
 * Webhook delivery: a background service of the notification subscriber that sends
 * the PENDING webhook notifications the handler queued.
 *
 * Each round claims due rows (FOR UPDATE SKIP LOCKED, leased by pushing
 * next_attempt_at forward and counting the attempt), so several processes can run
 * side by side; a process that dies mid-delivery leaves its rows to be taken over
 * when the lease runs out. Results are fenced by the attempt number: a delivery whose
 * lease was taken over (or whose webhook was deleted meanwhile) records nothing.
 * Delivery is at least once: receivers deduplicate on X-OMS-Event-Id.
 *
 * The request (README-ready):
 *
 *   POST <webhook url>
 *   Content-Type: application/json
 *   X-OMS-Event-Id: <eventId>            (the same on every retry)
 *   X-OMS-Event-Type: <eventType>        e.g. order.filled
 *   X-OMS-Timestamp: <unix seconds>      when this attempt was sent
 *   X-OMS-Signature: sha256=<hex>        HMAC-SHA256, keyed with the webhook's secret
 *                                        (its UTF-8 text, "whsec_..."), over the string
 *                                        <X-OMS-Timestamp> + "." + <raw request body>
 *   X-OMS-Attempt: <n>                   1 for the first attempt
 *
 *   { "eventId", "eventType", "occurredAt", "accountId", "title", "order", "fill"?, "reason"? }
 *
 * Verify by recomputing the HMAC over the raw body bytes as received, comparing in
 * constant time, and rejecting timestamps too far from now (replays).
 *
 * Any 2xx answer is a delivery. Anything else (another status, a redirect, a network
 * error, no answer within the timeout) is a failed attempt, retried after an
 * exponential backoff (base, 2 x base, 4 x base ... capped), until the notification
 * is FAILED after maxAttempts attempts (FAILED is the dead letter: listed with
 * ?status=FAILED). The delays are jittered (75-100 % of the step) so the retries of
 * many notifications do not arrive together. Each webhook has a circuit breaker:
 * after `breaker.failureThreshold` failed attempts in a row it opens, and its
 * notifications wait `breaker.halfOpenAfterMs` without an attempt being made or
 * counted (`circuit open`), then one probes. A target whose address is not public is
 * refused before connecting (targets.ts) and FAILED at once, unless private targets
 * are allowed (WEBHOOK_ALLOW_PRIVATE).
 *
 * What an attempt came to is recorded as a class (DELIVERY_RESULTS: `HTTP 5xx`,
 * `timeout`, `network error`, `target refused`...), which is all the notifications API
 * shows: the socket error itself (which would tell a caller what listens where) goes
 * to the log only.
 */
import { createHmac } from 'node:crypto';
import { request as httpRequest, type Agent } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { BackgroundService, ServiceDeps } from '../framework';
import type { Orm } from '../../persistence/orm';
import { claimDueDeliveries, postponeDelivery, recordFinished, recordRetry, statusClassOf, type ClaimedDelivery, type DeliveryResult } from './store';
import type { Logger } from '../../runtime/logger';
import { BatchLoop, forEachConcurrently } from '../../runtime/pump';
import { BreakerBoard, BrokenCircuitError, type BreakerSettings } from '../../runtime/breaker';
import { backoffMs, jittered } from '../../runtime/timing';
import { BreakerReporter } from '../../persistence/breakers/repository';
import { isRefusedTarget, webhookAgents } from './targets';

export interface WebhookDeliveryOptions {
  /** How often the queue is polled for due deliveries. */
  intervalMs: number;
  /** Rows claimed per round. */
  batchSize: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** How long one request may take (connect, answer). */
  timeoutMs: number;
  /** Delay after the first failed attempt; doubles with each further one. */
  backoffBaseMs: number;
  /** Longest delay between attempts. */
  backoffCapMs: number;
  /** Attempts before a notification is FAILED. */
  maxAttempts: number;
  /** How long a claim lasts before another process may take the row over (> timeoutMs). */
  leaseMs: number;
  /** Deliver to loopback, private and link-local addresses too (WEBHOOK_ALLOW_PRIVATE; development and tests). */
  allowPrivateTargets: boolean;
  /** The circuit breaker each webhook has. */
  breaker: BreakerSettings;
}

export const DEFAULT_WEBHOOK_DELIVERY: Readonly<WebhookDeliveryOptions> = {
  intervalMs: 500,
  batchSize: 32,
  concurrency: 8,
  timeoutMs: 5_000,
  backoffBaseMs: 1_000,
  backoffCapMs: 3_600_000,
  maxAttempts: 10,
  leaseMs: 30_000,
  allowPrivateTargets: false,
  breaker: { failureThreshold: 5, halfOpenAfterMs: 30_000 },
};

const USER_AGENT = 'order-service-webhooks/1';

/** The X-OMS-Signature value: sha256=hex(HMAC-SHA256(secret, timestamp + "." + body)). */
export function signatureOf(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

type AttemptResult =
  | { ok: true; statusCode: number }
  /** `error` is the class the API shows; `detail` what the log says. */
  | { ok: false; statusCode: number | null; error: DeliveryResult; detail: string };

/** POSTs a body through the given agents; resolves with the status code (the answer's body is discarded). */
function post(url: string, headers: Record<string, string>, body: string, agents: { http: Agent; https: Agent }, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      target,
      { method: 'POST', headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) }, agent: target.protocol === 'https:' ? agents.https : agents.http, timeout: timeoutMs },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    // The whole attempt, not only socket inactivity, is bounded.
    const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { name: 'TimeoutError' })), timeoutMs);
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { name: 'TimeoutError' })));
    req.on('close', () => clearTimeout(timer));
    req.on('error', reject);
    req.end(body);
  });
}

export class WebhookDelivery extends BatchLoop implements BackgroundService {
  readonly name = 'webhook-delivery';
  readonly options: WebhookDeliveryOptions;
  private readonly wakeups = new Set<NodeJS.Timeout>();
  private readonly orm: Orm;
  private readonly logger: Logger;
  private readonly agents: { http: Agent; https: Agent };
  /** One circuit breaker per webhook, reported for /readyz. */
  readonly breakers: BreakerBoard;
  private readonly reporter: BreakerReporter;

  constructor(orm: Orm, logger: Logger, options: Partial<WebhookDeliveryOptions> = {}) {
    const resolved = { ...DEFAULT_WEBHOOK_DELIVERY, ...options };
    super(resolved.intervalMs, (err) => logger.error({ err }, 'webhook delivery round failed'));
    this.orm = orm;
    this.logger = logger;
    this.options = resolved;
    this.agents = webhookAgents(resolved.allowPrivateTargets);
    this.breakers = new BreakerBoard(resolved.breaker, (name, state) => {
      logger[state === 'closed' ? 'info' : 'warn']({ breaker: name, state }, 'webhook circuit breaker state');
      this.reporter.kick();
    });
    this.reporter = new BreakerReporter(orm, 'notification', this.breakers, [], 5_000, (err) => logger.warn({ err }, 'could not report breaker states'));
    if (this.options.leaseMs <= this.options.timeoutMs) throw new Error('webhook delivery: leaseMs must exceed timeoutMs');
    if (this.options.maxAttempts < 1) throw new Error('webhook delivery: maxAttempts must be at least 1');
  }

  override async start(): Promise<void> {
    this.reporter.start();
    await super.start();
  }

  override async stop(): Promise<void> {
    for (const t of this.wakeups) clearTimeout(t);
    this.wakeups.clear();
    await super.stop();
    await this.reporter.stop();
  }

  protected async runBatch(): Promise<boolean> {
    return (await this.deliverBatch()) === this.options.batchSize;
  }

  private async deliverBatch(): Promise<number> {
    const claimed = await claimDueDeliveries(this.orm.em.fork(), this.options.batchSize, this.options.leaseMs / 1000);
    await forEachConcurrently(claimed, this.options.concurrency, async (row) => {
      try {
        await this.deliver(row);
      } catch (err) {
        // Recording the result failed (database trouble): the lease runs out and the row is retried.
        this.logger.error({ err, notificationId: String(row.id) }, 'could not record a webhook delivery');
      }
    });
    return claimed.length;
  }

  private async deliver(row: ClaimedDelivery): Promise<void> {
    if (!row.active) return this.finish(row, 'FAILED', { ok: false, statusCode: null, error: 'webhook deleted', detail: 'webhook deactivated' });
    if (row.attempts > this.options.maxAttempts) {
      // Its last attempt's result was never recorded (the process stopped): give up.
      return this.finish(row, 'FAILED', { ok: false, statusCode: null, error: 'no result', detail: `no result after ${this.options.maxAttempts} attempts` });
    }
    let result: AttemptResult;
    try {
      result = await this.breakers.get(`webhook:${row.webhook_id}`).execute(async () => {
        const r = await this.attempt(row);
        // A refused target says nothing about the receiver: it does not count against its breaker.
        if (!r.ok && r.error !== 'target refused') throw Object.assign(new Error(r.detail), { result: r });
        return r;
      });
    } catch (err) {
      if (err instanceof BrokenCircuitError) {
        // No attempt made: the breaker is open. Given back, due when it lets a probe through.
        await postponeDelivery(this.orm.em.fork(), { id: row.id, attempt: row.attempts }, this.options.breaker.halfOpenAfterMs / 1000);
        return;
      }
      if (!(err instanceof Error && 'result' in err)) throw err;
      result = err.result as AttemptResult;
    }
    if (result.ok) return this.finish(row, 'DELIVERED', result);
    const log = { notificationId: String(row.id), eventId: row.event_id, eventType: row.event_type, url: row.url, attempt: row.attempts, error: result.detail };
    if (result.error === 'target refused') {
      // Not retried: the address will not become public by waiting.
      this.logger.error(log, 'ALERT: webhook target refused: its address is not public');
      return this.finish(row, 'FAILED', result);
    }
    if (row.attempts >= this.options.maxAttempts) {
      this.logger.error(log, 'ALERT: webhook delivery failed for good');
      return this.finish(row, 'FAILED', result);
    }
    const delay = jittered(backoffMs(row.attempts, this.options.backoffBaseMs, this.options.backoffCapMs));
    this.logger.warn({ ...log, retryInMs: delay }, 'webhook delivery failed; will retry');
    await recordRetry(this.orm.em.fork(), { id: row.id, attempt: row.attempts, statusCode: result.statusCode, error: result.error }, delay / 1000);
    // Wake up when the retry is due rather than at the next poll.
    if (!this.pump.isStopped && delay < this.options.intervalMs * 20) {
      const t = setTimeout(() => {
        this.wakeups.delete(t);
        this.kick();
      }, delay + 5);
      this.wakeups.add(t);
    }
  }

  private async attempt(row: ClaimedDelivery): Promise<AttemptResult> {
    const body = JSON.stringify(row.payload);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers = {
      'Content-Type': 'application/json',
      'User-Agent': USER_AGENT,
      'X-OMS-Event-Id': row.event_id,
      'X-OMS-Event-Type': row.event_type,
      'X-OMS-Timestamp': timestamp,
      'X-OMS-Signature': signatureOf(row.secret, timestamp, body),
      'X-OMS-Attempt': String(row.attempts),
    };
    try {
      // A redirect is not followed (it could point anywhere): it counts as a failure.
      const status = await post(row.url, headers, body, this.agents, this.options.timeoutMs);
      if (status >= 200 && status < 300) return { ok: true, statusCode: status };
      return { ok: false, statusCode: status, error: statusClassOf(status), detail: `HTTP ${status}` };
    } catch (err) {
      const e = err as Error & { code?: string };
      const error: DeliveryResult = isRefusedTarget(e) ? 'target refused' : e.name === 'TimeoutError' ? 'timeout' : 'network error';
      return { ok: false, statusCode: null, error, detail: `${e.code ? `${e.code}: ` : ''}${e.message}`.slice(0, 2000) };
    }
  }

  private async finish(row: ClaimedDelivery, status: 'DELIVERED' | 'FAILED', result: AttemptResult): Promise<void> {
    await recordFinished(this.orm.em.fork(), { id: row.id, attempt: row.attempts, statusCode: result.statusCode, error: result.ok ? null : result.error }, status);
  }
}

/** A delivery service over the subscriber's deps (tests pass small backoffs and attempt limits). */
export function createWebhookDelivery(deps: ServiceDeps, options: Partial<WebhookDeliveryOptions> = {}): WebhookDelivery {
  return new WebhookDelivery(deps.orm, deps.logger, {
    allowPrivateTargets: deps.config.WEBHOOK_ALLOW_PRIVATE,
    breaker: { failureThreshold: deps.config.BREAKER_FAILURE_THRESHOLD, halfOpenAfterMs: deps.config.BREAKER_HALF_OPEN_AFTER_MS },
    ...options,
  });
}
