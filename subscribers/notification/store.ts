/**
 * The notification subscriber's tables (migration 004): webhooks registered per
 * account, and the notifications written for each notified event with their delivery
 * state. Used by the subscriber's handler, its webhook delivery and the API.
 *
 * Recording is idempotent on its own (unique per event, channel and webhook, inserts
 * `on conflict do nothing`), on top of the runner's processed_events: a rebuild that
 * replays history re-sends nothing. A webhook only hears of events that occurred
 * after it was registered (created_at <= the event's timestamp), so what an event
 * notifies depends on the event and the registrations, not on when it is processed.
 *
 * Every statement on these tables is here (the webhook delivery's claims and results
 * too), with named parameters; lists travel as JSON.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { EventEnvelope } from '../../events/catalogue';
import { sql } from '../../persistence/sql';
import type { Logger } from '../../runtime/logger';
import { ALERT_EVENT_TYPES, payloadOf, type OrderEventData } from './messages';

export const NOTIFICATION_STATUSES = ['PENDING', 'DELIVERED', 'FAILED'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];

/** What an attempt came to, as the notifications API reports it (never the raw socket error). */
export const DELIVERY_RESULTS = ['HTTP 2xx', 'HTTP 3xx', 'HTTP 4xx', 'HTTP 5xx', 'timeout', 'network error', 'target refused', 'circuit open', 'webhook deleted', 'no result'] as const;
export type DeliveryResult = (typeof DELIVERY_RESULTS)[number];

/** The class of an HTTP status, e.g. 503 -> "HTTP 5xx". */
export function statusClassOf(statusCode: number): DeliveryResult {
  const c = Math.min(5, Math.max(2, Math.floor(statusCode / 100)));
  return `HTTP ${c}xx` as DeliveryResult;
}

/** Active webhooks one account may have. */
export const MAX_WEBHOOKS_PER_ACCOUNT = 10;

export interface WebhookView {
  id: string;
  url: string;
  events: string[];
  active: boolean;
  createdAt: string;
}

export interface NotificationView {
  id: string;
  eventId: string;
  eventType: string;
  channel: 'log' | 'webhook';
  webhookId: string | null;
  title: string;
  status: NotificationStatus;
  attempts: number;
  /** What the last attempt came to (a DELIVERY_RESULTS class), null before the first. */
  lastResult: DeliveryResult | null;
  createdAt: string;
  deliveredAt: string | null;
  nextAttemptAt: string | null;
}

const iso = (v: Date | string | null): string | null => (v === null ? null : new Date(v).toISOString());

/** A new signing secret: 256 random bits. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

interface WebhookRow {
  id: string;
  url: string;
  events: string[];
  active: boolean;
  created_at: Date | string;
}

const webhookView = (r: WebhookRow): WebhookView => ({ id: r.id, url: r.url, events: r.events, active: r.active, createdAt: iso(r.created_at) as string });

export async function createWebhook(em: EntityManager, accountId: string, url: string, events: readonly string[]): Promise<WebhookView & { secret: string }> {
  const secret = newWebhookSecret();
  const [row] = await sql<WebhookRow>(
    em,
    `insert into webhooks (id, account_id, url, events, secret)
     values (:id, :accountId, :url, array(select jsonb_array_elements_text(:events::jsonb)), :secret)
     returning id, url, events, active, created_at`,
    { id: randomUUID(), accountId, url, events: JSON.stringify(events), secret },
  );
  return { ...webhookView(row), secret };
}

export async function countActiveWebhooks(em: EntityManager, accountId: string): Promise<number> {
  const [row] = await sql<{ n: string }>(em, 'select count(*) as n from webhooks where account_id = :accountId and active', { accountId });
  return Number(row.n);
}

/** The account's webhooks, newest first, without their secrets. */
export async function listWebhooks(em: EntityManager, accountId: string): Promise<WebhookView[]> {
  const rows = await sql<WebhookRow>(em, 'select id, url, events, active, created_at from webhooks where account_id = :accountId order by created_at desc, id', {
    accountId,
  });
  return rows.map(webhookView);
}

/**
 * Deactivates a webhook; its undelivered notifications fail at once (a delivery in
 * flight finds them no longer PENDING and records nothing). False when the account
 * has no such webhook.
 */
export async function deactivateWebhook(em: EntityManager, accountId: string, webhookId: string): Promise<boolean> {
  return em.transactional(async (tx) => {
    const found = await sql(tx, 'update webhooks set active = false where id = :webhookId and account_id = :accountId returning id', { webhookId, accountId });
    if (found.length === 0) return false;
    await sql(
      tx,
      `update notifications set status = 'FAILED', last_error = 'webhook deleted', next_attempt_at = null
       where webhook_id = :webhookId and status = 'PENDING'`,
      { webhookId },
    );
    return true;
  });
}

interface NotificationRow {
  id: string;
  event_id: string;
  event_type: string;
  channel: 'log' | 'webhook';
  webhook_id: string | null;
  title: string;
  status: NotificationStatus;
  attempts: number;
  last_error: string | null;
  last_status_code: number | null;
  created_at: Date | string;
  delivered_at: Date | string | null;
  next_attempt_at: Date | string | null;
}

/** The class of a row's last attempt; rows written before classes were recorded read as `network error`. */
function resultOf(r: Pick<NotificationRow, 'channel' | 'attempts' | 'last_error' | 'last_status_code'>): DeliveryResult | null {
  if (r.last_status_code !== null) return statusClassOf(r.last_status_code);
  if (r.last_error === null) return r.channel === 'log' ? 'HTTP 2xx' : null;
  return (DELIVERY_RESULTS as readonly string[]).includes(r.last_error) ? (r.last_error as DeliveryResult) : 'network error';
}

/** The account's notifications, newest first. */
export async function listNotifications(
  em: EntityManager,
  accountId: string,
  q: { limit: number; statuses?: readonly NotificationStatus[]; before?: string },
): Promise<NotificationView[]> {
  const rows = await sql<NotificationRow>(
    em,
    `select id, event_id, event_type, channel, webhook_id, title, status, attempts, last_error, last_status_code, created_at, delivered_at, next_attempt_at
     from notifications
     where account_id = :accountId
       and (:statuses::jsonb is null or status in (select jsonb_array_elements_text(:statuses::jsonb)))
       and (:before::bigint is null or id < :before::bigint)
     order by id desc limit :limit`,
    { accountId, statuses: q.statuses?.length ? JSON.stringify(q.statuses) : null, before: q.before ?? null, limit: q.limit },
  );
  return rows.map((r) => ({
    id: String(r.id),
    eventId: r.event_id,
    eventType: r.event_type,
    channel: r.channel,
    webhookId: r.webhook_id,
    title: r.title,
    status: r.status,
    attempts: r.attempts,
    lastResult: resultOf(r),
    createdAt: iso(r.created_at) as string,
    deliveredAt: iso(r.delivered_at),
    nextAttemptAt: iso(r.next_attempt_at),
  }));
}

/**
 * Records the notifications of one event inside the handler's transaction: the `log`
 * row (DELIVERED: the structured log line written here is the log channel) and one
 * PENDING row per active webhook of the account that wants this event type. Returns
 * how many webhook deliveries were queued.
 *
 * The log line goes out before the transaction commits: should the commit fail, the
 * event is retried and logged again (at least once); the rows are exactly once.
 */
export async function recordNotifications(em: EntityManager, event: EventEnvelope, logger: Logger): Promise<number> {
  const data = event.data as OrderEventData;
  const payload = payloadOf(event);
  const body = JSON.stringify(payload);
  const accountId = data.order.accountId;

  const params = { accountId, eventId: event.eventId, eventType: event.eventType, title: payload.title, payload: body };
  const logged = await sql<{ id: string }>(
    em,
    `insert into notifications (account_id, event_id, event_type, channel, webhook_id, title, payload, status, attempts, delivered_at)
     values (:accountId, :eventId, :eventType, 'log', null, :title, :payload::jsonb, 'DELIVERED', 1, now())
     on conflict do nothing returning id`,
    params,
  );
  if (logged.length > 0) {
    const line = { notification: { id: String(logged[0].id), channel: 'log', ...payload } };
    if (ALERT_EVENT_TYPES.has(event.eventType)) logger.warn({ ...line, alert: true }, payload.title);
    else logger.info(line, payload.title);
  }

  const queued = await sql<{ id: string }>(
    em,
    `insert into notifications (account_id, event_id, event_type, channel, webhook_id, title, payload, status, attempts, next_attempt_at)
     select w.account_id, :eventId, :eventType, 'webhook', w.id, :title, :payload::jsonb, 'PENDING', 0, now()
     from webhooks w
     where w.account_id = :accountId and w.active and w.created_at <= :occurredAt::timestamptz
       and (cardinality(w.events) = 0 or :eventType = any(w.events))
     on conflict do nothing returning id`,
    { ...params, occurredAt: event.timestamp },
  );
  return queued.length;
}

/** A webhook notification claimed for one delivery attempt, with its webhook. */
export interface ClaimedDelivery {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  payload: unknown;
  /** This attempt's number (counted by the claim). */
  attempts: number;
  url: string;
  secret: string;
  active: boolean;
}

/**
 * Claims due webhook notifications (FOR UPDATE SKIP LOCKED, so several processes run
 * side by side), leased by pushing next_attempt_at forward and counting the attempt.
 */
export async function claimDueDeliveries(em: EntityManager, limit: number, leaseSeconds: number): Promise<ClaimedDelivery[]> {
  return sql<ClaimedDelivery>(
    em,
    `update notifications n set attempts = n.attempts + 1, next_attempt_at = now() + make_interval(secs => :leaseSeconds)
     from webhooks w
     where w.id = n.webhook_id and n.id in (
       select id from notifications where status = 'PENDING' and channel = 'webhook' and next_attempt_at <= now()
       order by next_attempt_at, id limit :limit for update skip locked)
     returning n.id, n.webhook_id, n.event_id, n.event_type, n.payload, n.attempts, w.url, w.secret, w.active`,
    { leaseSeconds, limit },
  );
}

/** What one attempt came to; the attempt number fences it: a lease taken over since records nothing. */
export interface AttemptOutcome {
  id: string;
  attempt: number;
  statusCode: number | null;
  error: string | null;
}

/** A failed attempt to be retried after `delaySeconds`. */
export async function recordRetry(em: EntityManager, outcome: AttemptOutcome, delaySeconds: number): Promise<void> {
  await sql(
    em,
    `update notifications set last_error = :error, last_status_code = :statusCode, next_attempt_at = now() + make_interval(secs => :delaySeconds)
     where id = :id and status = 'PENDING' and attempts = :attempt`,
    { error: outcome.error, statusCode: outcome.statusCode, delaySeconds, id: outcome.id, attempt: outcome.attempt },
  );
}

/**
 * An attempt not made (its webhook's circuit breaker is open): the attempt the claim
 * counted is given back, and the notification is due again after `delaySeconds`.
 */
export async function postponeDelivery(em: EntityManager, claim: { id: string; attempt: number }, delaySeconds: number): Promise<void> {
  await sql(
    em,
    `update notifications set attempts = attempts - 1, last_error = 'circuit open', last_status_code = null, next_attempt_at = now() + make_interval(secs => :delaySeconds)
     where id = :id and status = 'PENDING' and attempts = :attempt`,
    { delaySeconds, id: claim.id, attempt: claim.attempt },
  );
}

/** The end of a notification's delivery: DELIVERED, or FAILED for good. */
export async function recordFinished(em: EntityManager, outcome: AttemptOutcome, status: 'DELIVERED' | 'FAILED'): Promise<void> {
  await sql(
    em,
    `update notifications set status = :status, last_status_code = :statusCode, last_error = :error, next_attempt_at = null,
       delivered_at = case when :status = 'DELIVERED' then now() end
     where id = :id and status = 'PENDING' and attempts = :attempt`,
    { status, statusCode: outcome.statusCode, error: outcome.error, id: outcome.id, attempt: outcome.attempt },
  );
}

/** Deletes up to `limit` delivered notifications delivered before `before` (the retention job). Pending and failed ones stay. */
export async function pruneDeliveredNotifications(em: EntityManager, before: Date, limit: number): Promise<number> {
  const rows = await sql<{ n: number }>(
    em,
    `with gone as (
       delete from notifications where id in (
         select id from notifications where status = 'DELIVERED' and delivered_at < :before order by delivered_at limit :limit) returning 1)
     select count(*)::int as n from gone`,
    { before: before.toISOString(), limit },
  );
  return rows[0].n;
}
