import { Migration } from '@mikro-orm/migrations';

/**
 * The notification subscriber's tables: webhooks registered per account, and every
 * notification sent (one `log` row per notified event, one `webhook` row per matching
 * webhook) with its delivery state; PENDING webhook rows are the delivery queue.
 *
 * A notification exists at most once per (event, channel, webhook). The table-level
 * unique constraint does not cover the log channel (its webhook_id is null, and nulls
 * are distinct), so a partial unique index does. Webhook secrets are stored as they
 * are: they key the HMAC of every delivery, so they cannot be hashed.
 */
export class Migration20261124000004_notifications extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table webhooks (
        id uuid primary key,
        account_id uuid not null references accounts(id),
        url text not null check (length(url) <= 2048 and url ~ '^https?://'),
        events text[] not null default '{}',
        secret text not null check (length(secret) >= 32),
        active boolean not null default true,
        created_at timestamptz not null default now()
      );
      create index webhooks_account on webhooks (account_id, created_at) where active;

      create table notifications (
        id bigserial primary key,
        account_id uuid not null references accounts(id),
        event_id uuid not null,
        event_type text not null,
        channel text not null check (channel in ('log', 'webhook')),
        webhook_id uuid references webhooks(id),
        title text not null,
        payload jsonb not null,
        status text not null check (status in ('PENDING', 'DELIVERED', 'FAILED')),
        attempts integer not null default 0 check (attempts >= 0),
        last_error text,
        last_status_code integer,
        next_attempt_at timestamptz,
        delivered_at timestamptz,
        created_at timestamptz not null default now(),
        unique (event_id, channel, webhook_id),
        check ((channel = 'webhook') = (webhook_id is not null)),
        check ((status = 'DELIVERED') = (delivered_at is not null)),
        check (status <> 'PENDING' or next_attempt_at is not null)
      );
      create unique index notifications_log_once on notifications (event_id) where channel = 'log';
      create index notifications_account on notifications (account_id, id desc);
      create index notifications_due on notifications (next_attempt_at) where status = 'PENDING';
    `);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists notifications, webhooks;');
  }
}
