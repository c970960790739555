/**
 * Every subscriber this deployment runs. Adding one: write its definition (see
 * subscribers/framework.ts), a migration for its tables, list it here and in
 * scripts/start.ts. Nothing in the order service changes.
 */
import type { SubscriberDefinition } from './framework';
import { notificationSubscriber } from './notification';
import { portfolioSubscriber } from './portfolio';
import { reportSubscriber } from './report';

export const SUBSCRIBERS: Record<string, SubscriberDefinition> = {
  portfolio: portfolioSubscriber,
  notification: notificationSubscriber,
  report: reportSubscriber,
};
