/**
 * The notification subscriber: tells an account about its orders' fills, rejections,
 * cancellations and expiries, and raises alerts for refused fills and cancels.
 *
 * Channels: a structured log line per notification (the `log` channel, written by the
 * handler itself), and HTTP webhooks registered per account (POST
 * /accounts/:id/webhooks), signed with HMAC-SHA256 and retried with exponential
 * backoff by the webhook delivery service (see webhook-delivery.ts for the request
 * format and signature). GET /accounts/:id/notifications lists what was sent and
 * its delivery state.
 *
 * The handler only records (inside the runner's transaction, so exactly once in
 * effect); sending happens in the background service, so a slow or failing receiver
 * never holds up the event stream. There is no reset(): notifications are a record of
 * what was sent, not a projection, and a rebuild must not send anything again (the
 * inserts are idempotent per event, channel and webhook, see store.ts).
 */
import type { SubscriberDefinition } from '../framework';
import { NOTIFIED_EVENT_TYPES } from './messages';
import { recordNotifications } from './store';
import { createWebhookDelivery, type WebhookDeliveryOptions } from './webhook-delivery';

export { NOTIFIED_EVENT_TYPES } from './messages';
export { createWebhookDelivery, signatureOf, type WebhookDelivery, type WebhookDeliveryOptions } from './webhook-delivery';

export interface NotificationSubscriberOptions {
  /** Settings of the webhook delivery service its process runs. */
  delivery?: Partial<WebhookDeliveryOptions>;
}

export function createNotificationSubscriber(options: NotificationSubscriberOptions = {}): SubscriberDefinition {
  return {
    name: 'notification',
    subscriptions: [{ stream: 'orders' }],
    eventTypes: NOTIFIED_EVENT_TYPES,
    async handle(em, event, logger) {
      await recordNotifications(em, event, logger);
    },
    services: (deps) => [createWebhookDelivery(deps, options.delivery)],
  };
}

export const notificationSubscriber: SubscriberDefinition = createNotificationSubscriber();
