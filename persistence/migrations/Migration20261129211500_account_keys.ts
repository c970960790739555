import { Migration } from '@mikro-orm/migrations';

/**
 * Account API keys move to their own table, so an account can hold more than one:
 * rotation issues a new key and lets the old ones live on until a grace period ends
 * (`expires_at`); revocation ends a key at once (`revoked_at`). Every existing key
 * becomes the account's one key, unexpiring. Accounts may also be CLOSED.
 */
export class Migration20261129211500_account_keys extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table account_api_keys (
        id uuid primary key,
        account_id uuid not null references accounts(id),
        key_hash text not null unique,
        created_at timestamptz not null default now(),
        expires_at timestamptz,
        revoked_at timestamptz
      );
      create index account_api_keys_account on account_api_keys (account_id);

      insert into account_api_keys (id, account_id, key_hash, created_at)
      select gen_random_uuid(), id, api_key_hash, created_at from accounts;

      alter table accounts drop column api_key_hash;
      alter table accounts drop constraint accounts_status_check;
      alter table accounts add constraint accounts_status_check check (status in ('ACTIVE', 'SUSPENDED', 'CLOSED'));
    `);
  }

  override async down(): Promise<void> {
    this.addSql(`
      alter table accounts add column api_key_hash text unique;
      update accounts a set api_key_hash = (select k.key_hash from account_api_keys k where k.account_id = a.id order by k.created_at desc limit 1);
      alter table accounts alter column api_key_hash set not null;
      update accounts set status = 'SUSPENDED' where status = 'CLOSED';
      alter table accounts drop constraint accounts_status_check;
      alter table accounts add constraint accounts_status_check check (status in ('ACTIVE', 'SUSPENDED'));
      drop table account_api_keys;
    `);
  }
}
