/**
 * Webhooks and notifications of an account (the notification subscriber's tables):
 *
 *   POST   /accounts/:id/webhooks {url, events}  201, with the signing secret (shown once)
 *   GET    /accounts/:id/webhooks                 without secrets
 *   DELETE /accounts/:id/webhooks/:webhookId      204 (deactivates; undelivered ones fail)
 *   GET    /accounts/:id/notifications?limit=&status=&before=   newest first
 *
 * `events` lists the event types a webhook wants (empty or absent: all the
 * subscriber notifies). URLs are http(s) only, and must point at a public address
 * (subscribers/notification/targets.ts: checked here, and again against the address
 * connected to at send time) unless WEBHOOK_ALLOW_PRIVATE is set. The notifications
 * show what each attempt came to as a class (`HTTP 5xx`, `timeout`, `target
 * refused`...), never a socket error.
 */
import Router from '@koa/router';
import { z } from 'zod';
import { NOTIFIED_EVENT_TYPES } from '../../subscribers/notification/messages';
import {
  countActiveWebhooks,
  createWebhook,
  deactivateWebhook,
  listNotifications,
  listWebhooks,
  MAX_WEBHOOKS_PER_ACCOUNT,
  NOTIFICATION_STATUSES,
} from '../../subscribers/notification/store';
import { refusedWebhookHost } from '../../subscribers/notification/targets';
import { accountFromPath, activeAccountFromPath } from '../authorization';
import type { ApiDeps, AppContext, AppState } from '../context';
import { Problem } from '../problem';
import { commaList, uuid } from '../schemas';
import { parse } from '../validate';

const MAX_URL_LENGTH = 2048;

function isHttpUrl(v: string): boolean {
  try {
    const u = new URL(v);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '' && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}

export const webhookBody = z.object({
  url: z
    .string({ message: 'must be a URL' })
    .trim()
    .max(MAX_URL_LENGTH, `must be at most ${MAX_URL_LENGTH} characters`)
    .refine(isHttpUrl, 'must be an http:// or https:// URL with a host (and no credentials)'),
  events: z
    .array(z.enum(NOTIFIED_EVENT_TYPES, { message: `must be one of ${NOTIFIED_EVENT_TYPES.join(', ')}` }), { message: 'must be a list of event types' })
    .max(NOTIFIED_EVENT_TYPES.length * 2, 'lists too many event types')
    .default([])
    .transform((events) => [...new Set(events)]),
});

export const notificationsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  status: commaList(NOTIFICATION_STATUSES, 'status', (s) => s.toUpperCase()),
  before: z.string().regex(/^\d{1,18}$/, 'must be a notification id').optional(),
});

export function notificationRoutes(deps: ApiDeps): Router<AppState, AppContext> {
  const router = new Router<AppState, AppContext>();

  const accountParam = (ctx: AppContext) => accountFromPath(ctx, deps.config.OPERATOR_API_KEY);

  router.post('/accounts/:id/webhooks', async (ctx) => {
    const { accountId } = await activeAccountFromPath(ctx, deps.config.OPERATOR_API_KEY);
    const body = parse(webhookBody, ctx.request.body ?? {});
    const refused = refusedWebhookHost(new URL(body.url), deps.config.WEBHOOK_ALLOW_PRIVATE);
    if (refused) throw Problem.field('url', refused);
    if ((await countActiveWebhooks(ctx.state.em, accountId)) >= MAX_WEBHOOKS_PER_ACCOUNT) {
      throw Problem.conflict('Too many webhooks', `an account may have at most ${MAX_WEBHOOKS_PER_ACCOUNT} active webhooks; delete one first`);
    }
    const webhook = await createWebhook(ctx.state.em, accountId, body.url, body.events);
    ctx.state.logger.info({ accountId, webhookId: webhook.id, events: webhook.events }, 'webhook registered');
    ctx.status = 201;
    ctx.set('Location', `/accounts/${accountId}/webhooks/${webhook.id}`);
    ctx.body = webhook;
  });

  router.get('/accounts/:id/webhooks', async (ctx) => {
    const accountId = await accountParam(ctx);
    ctx.body = { webhooks: await listWebhooks(ctx.state.em, accountId) };
  });

  router.delete('/accounts/:id/webhooks/:webhookId', async (ctx) => {
    const accountId = await accountParam(ctx);
    const webhookId = parse(uuid, ctx.params.webhookId);
    if (!(await deactivateWebhook(ctx.state.em, accountId, webhookId))) throw Problem.notFound(`webhook ${webhookId}`);
    ctx.state.logger.info({ accountId, webhookId }, 'webhook deactivated');
    ctx.status = 204;
  });

  router.get('/accounts/:id/notifications', async (ctx) => {
    const accountId = await accountParam(ctx);
    const q = parse(notificationsQuery, ctx.query);
    const notifications = await listNotifications(ctx.state.em, accountId, { limit: q.limit, statuses: q.status, before: q.before });
    const last = notifications[notifications.length - 1];
    const status = q.status ? `&status=${q.status.join(',')}` : '';
    ctx.body = {
      notifications,
      next: notifications.length === q.limit ? `/accounts/${accountId}/notifications?limit=${q.limit}${status}&before=${last.id}` : null,
    };
  });

  return router;
}
