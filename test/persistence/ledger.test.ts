/**
 * The ledger's own guarantees, straight against PostgreSQL: idempotent postings,
 * no overdraft under concurrency, immutable and balanced entries enforced by the
 * database itself, and idempotent order commits.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../config';
import { createAccount, deposit, withdraw } from '../../activities/accounts';
import { IdempotencyConflictError, InsufficientFundsError, postLedgerTransaction } from '../../persistence/ledger/repository';
import { commitOrderChange } from '../../activities/order/commit';
import { OrderVersionConflictError } from '../../persistence/orders/repository';
import type { OrderCommit } from '../../workflows/order/definitions';
import { initOrm, type Orm } from '../../persistence/orm';
import { reconcile } from '../../persistence/reconciliation';
import { lockPostings } from '../../domain/funds';

const CTX = { correlationId: 'ledger-test', causationId: null };
let orm: Orm;
beforeAll(async () => {
  orm = await initOrm(loadConfig().DATABASE_URL);
});
afterAll(async () => {
  await orm?.close();
});

const em = () => orm.em.fork();
const balance = async (accountId: string, asset = 'USD') =>
  (await em().execute<{ available: string; locked: string }[]>('select available::text, locked::text from balances where account_id = ? and asset = ?', [accountId, asset]))[0];

async function account(): Promise<string> {
  return (await createAccount(em(), 'ledger-test', CTX)).id;
}

describe('deposits and withdrawals', () => {
  it('a deposit reference is applied once; reused with another amount it is refused', async () => {
    const a = await account();
    const first = await deposit(em(), { accountId: a, asset: 'USD', amount: '100.5', reference: 'wire-1' }, CTX);
    const again = await deposit(em(), { accountId: a, asset: 'USD', amount: '100.50', reference: 'wire-1' }, CTX);
    expect(first.created).toBe(true);
    expect(again).toEqual({ transactionId: first.transactionId, created: false });
    await expect(deposit(em(), { accountId: a, asset: 'USD', amount: '7', reference: 'wire-1' }, CTX)).rejects.toThrow(IdempotencyConflictError);
    expect(Number((await balance(a)).available)).toBe(100.5);
  });

  it('20 concurrent withdrawals of 10 from 55: exactly 5 succeed, never below zero', async () => {
    const a = await account();
    await deposit(em(), { accountId: a, asset: 'USD', amount: '55', reference: 'seed' }, CTX);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => withdraw(em(), { accountId: a, asset: 'USD', amount: '10', reference: `w-${i}` }, CTX)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    for (const r of results.filter((x): x is PromiseRejectedResult => x.status === 'rejected')) expect(r.reason).toBeInstanceOf(InsufficientFundsError);
    expect(Number((await balance(a)).available)).toBe(5);
    expect(await reconcile(em(), a)).toEqual([]);
  });
});

describe('the database enforces the ledger', () => {
  it('refuses to change or delete an entry', async () => {
    const a = await account();
    await deposit(em(), { accountId: a, asset: 'USD', amount: '1', reference: 'x' }, CTX);
    await expect(em().execute('update ledger_entries set amount = 2 where account_id = ?', [a])).rejects.toThrow(/immutable/);
    await expect(em().execute('delete from ledger_entries where account_id = ?', [a])).rejects.toThrow(/immutable/);
  });

  it('refuses a transaction that does not balance, even written by hand', async () => {
    const a = await account();
    await expect(
      em().transactional(async (tx) => {
        const [t] = await tx.execute<{ id: string }[]>(
          `insert into ledger_transactions (idempotency_key, kind, account_id, reference, fingerprint) values ('hand-1', 'X', ?, 'r', 'f') returning id`,
          [a],
        );
        await tx.execute(`insert into ledger_entries (transaction_id, book, account_id, asset, bucket, amount, kind) values (?, 'customer', ?, 'USD', 'available', 5, 'DEPOSIT')`, [t.id, a]);
      }),
    ).rejects.toThrow(/does not balance: USD=5/);
  });

  it('refuses postings that would take a balance below zero', async () => {
    const a = await account();
    await expect(
      em().transactional((tx) =>
        postLedgerTransaction(tx, { idempotencyKey: `lock-${a}`, kind: 'LOCK', accountId: a, orderId: null, reference: 'r', fingerprint: 'f', postings: lockPostings(a, 'USD', '1') }),
      ),
    ).rejects.toThrow(InsufficientFundsError);
  });
});

describe('order commits', () => {
  it('are idempotent by version, and refuse to skip one', async () => {
    const a = await account();
    await deposit(em(), { accountId: a, asset: 'USD', amount: '100', reference: 'seed' }, CTX);
    const orderId = '11111111-2222-4333-8444-' + a.slice(-12);
    const base = {
      orderId, clientOrderId: 'c', accountId: a, symbol: 'BTC-USD', side: 'BUY' as const, type: 'LIMIT' as const, quantity: '1', limitPrice: '50',
      timeInForce: 'GTC' as const, expireAt: null, status: 'NEW' as const, filledQuantity: '0', leavesQuantity: '1', averageFillPrice: null,
      notional: '0', fees: '0', feeAsset: null, lockedAsset: null, lockedAmount: '0', rejectReason: null, cancelReason: null,
      createdAt: new Date().toISOString(), updatedAt: new Date().toISOString(), version: 1,
    };
    const created: OrderCommit = {
      order: base,
      workflowId: 'wf',
      transition: { from: null, to: 'NEW', reason: null },
      postings: [],
      ledgerKind: null,
      fill: null,
      context: CTX,
    };
    // As scheduled by workflow code that predates `context`: it is optional.
    const { context: _none, ...withoutContext } = created;
    const locked: OrderCommit = {
      ...withoutContext,
      order: { ...base, version: 2, lockedAsset: 'USD', lockedAmount: '50' },
      transition: null,
      postings: lockPostings(a, 'USD', '50'),
      ledgerKind: 'LOCK',
    };
    expect(await commitOrderChange(em(), created)).toBe(true);
    expect(await commitOrderChange(em(), created)).toBe(false);
    expect(await commitOrderChange(em(), locked)).toBe(true);
    expect(await commitOrderChange(em(), locked)).toBe(false); // a retried activity: nothing twice
    expect(await balance(a)).toEqual({ available: '50.000000000000000000', locked: '50.000000000000000000' });
    await expect(commitOrderChange(em(), { ...locked, order: { ...locked.order, version: 4 } })).rejects.toThrow(OrderVersionConflictError);
    expect(await reconcile(em(), a)).toEqual([]);
    const [lockEvent] = await em().execute<{ envelope: { correlationId: string | null } }[]>(
      `select envelope from outbox where event_type = 'funds.locked' and aggregate_id = ?`,
      [a],
    );
    expect(lockEvent.envelope.correlationId).toBeNull();
  });
});
