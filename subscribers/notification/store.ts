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
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { EventEnvelope } from '../../events/catalogue';
import type { Logger } from '../../runtime/logger';
import { ALERT_EVENT_TYPES, payloadOf, type OrderEventData } from './messages';

export const NOTIFICATION_STATUSES = ['PENDING', 'DELIVERED', 'FAILED'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];

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
  lastError: string | null;
  lastStatusCode: number | null;
  createdAt: string;
  deliveredAt: string | null;
  nextAttemptAt: string | null;
}

const iso = (v: Date | string | null): string | null => (v === null ? null : new Date(v).toISOString());

/** `array[?, ?]::text[]` and its bindings (a JS array must not be one binding). */
function textArray(values: readonly string[]): { sql: string; params: string[] } {
  return values.length === 0 ? { sql: `'{}'::text[]`, params: [] } : { sql: `array[${values.map(() => '?').join(', ')}]::text[]`, params: [...values] };
}

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
  const list = textArray(events);
  const [row] = await em.execute<WebhookRow[]>(
    `insert into webhooks (id, account_id, url, events, secret) values (?, ?, ?, ${list.sql}, ?)
     returning id, url, events, active, created_at`,
    [randomUUID(), accountId, url, ...list.params, secret],
  );
  return { ...webhookView(row), secret };
}

export async function countActiveWebhooks(em: EntityManager, accountId: string): Promise<number> {
  const [row] = await em.execute<{ n: string }[]>('select count(*) as n from webhooks where account_id = ? and active', [accountId]);
  return Number(row.n);
}

/** The account's webhooks, newest first, without their secrets. */
export async function listWebhooks(em: EntityManager, accountId: string): Promise<WebhookView[]> {
  const rows = await em.execute<WebhookRow[]>(
    'select id, url, events, active, created_at from webhooks where account_id = ? order by created_at desc, id',
    [accountId],
  );
  return rows.map(webhookView);
}

/**
 * Deactivates a webhook; its undelivered notifications fail at once (a delivery in
 * flight finds them no longer PENDING and records nothing). False when the account
 * has no such webhook.
 */
export async function deactivateWebhook(em: EntityManager, accountId: string, webhookId: string): Promise<boolean> {
  return em.transactional(async (tx) => {
    const found = await tx.execute<unknown[]>('update webhooks set active = false where id = ? and account_id = ? returning id', [webhookId, accountId]);
    if (found.length === 0) return false;
    await tx.execute(
      `update notifications set status = 'FAILED', last_error = 'webhook deleted', next_attempt_at = null
       where webhook_id = ? and status = 'PENDING'`,
      [webhookId],
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

/** The account's notifications, newest first. */
export async function listNotifications(
  em: EntityManager,
  accountId: string,
  q: { limit: number; statuses?: readonly NotificationStatus[]; before?: string },
): Promise<NotificationView[]> {
  const where = ['account_id = ?'];
  const params: (string | number)[] = [accountId];
  if (q.statuses?.length) {
    where.push(`status in (${q.statuses.map(() => '?').join(', ')})`);
    params.push(...q.statuses);
  }
  if (q.before) {
    where.push('id < ?');
    params.push(q.before);
  }
  const rows = await em.execute<NotificationRow[]>(
    `select id, event_id, event_type, channel, webhook_id, title, status, attempts, last_error, last_status_code, created_at, delivered_at, next_attempt_at
     from notifications where ${where.join(' and ')} order by id desc limit ?`,
    [...params, q.limit],
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
    lastError: r.last_error,
    lastStatusCode: r.last_status_code,
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

  const logged = await em.execute<{ id: string }[]>(
    `insert into notifications (account_id, event_id, event_type, channel, webhook_id, title, payload, status, attempts, delivered_at)
     values (?, ?, ?, 'log', null, ?, ?::jsonb, 'DELIVERED', 1, now())
     on conflict do nothing returning id`,
    [accountId, event.eventId, event.eventType, payload.title, body],
  );
  if (logged.length > 0) {
    const line = { notification: { id: String(logged[0].id), channel: 'log', ...payload } };
    if (ALERT_EVENT_TYPES.has(event.eventType)) logger.warn({ ...line, alert: true }, payload.title);
    else logger.info(line, payload.title);
  }

  const queued = await em.execute<{ id: string }[]>(
    `insert into notifications (account_id, event_id, event_type, channel, webhook_id, title, payload, status, attempts, next_attempt_at)
     select w.account_id, ?, ?, 'webhook', w.id, ?, ?::jsonb, 'PENDING', 0, now()
     from webhooks w
     where w.account_id = ? and w.active and w.created_at <= ?::timestamptz and (cardinality(w.events) = 0 or ? = any(w.events))
     on conflict do nothing returning id`,
    [event.eventId, event.eventType, payload.title, body, accountId, event.timestamp, event.eventType],
  );
  return queued.length;
}
