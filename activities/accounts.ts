/**
 * Account units of work: opening an account and moving funds in and out. Each is ONE
 * PostgreSQL transaction over the ledger (or the accounts table) and the outbox, so
 * the movement and its event commit together or not at all. The API calls these
 * directly today.
 */
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { EventContext } from '../domain/causation';
import { str } from '../domain/decimal';
import { depositPostings, withdrawalPostings } from '../domain/funds';
import { appendEvents, draft } from '../events/outbox';
import { insertAccount, newApiKey } from '../persistence/accounts/repository';
import { postLedgerTransaction } from '../persistence/ledger/repository';

export async function createAccount(em: EntityManager, name: string, ctx: EventContext): Promise<{ id: string; name: string; apiKey: string }> {
  const apiKey = newApiKey();
  const id = randomUUID();
  await em.transactional(async (tx) => {
    await insertAccount(tx, { id, name, apiKey });
    await appendEvents(tx, `account:${id}:created`, [draft('account.created', { accountId: id, name })], ctx);
  });
  return { id, name, apiKey };
}

export interface FundsMovement {
  accountId: string;
  asset: string;
  amount: string;
  reference: string;
}

export interface FundsMovementResult {
  transactionId: string;
  /** False when the reference was seen before (nothing changed). */
  created: boolean;
}

function fingerprint(kind: string, m: FundsMovement): string {
  return [kind, m.accountId, m.asset, str(m.amount)].join('|');
}

/** A deposit; the same reference again adds nothing. */
export async function deposit(em: EntityManager, m: FundsMovement, ctx: EventContext): Promise<FundsMovementResult> {
  return em.transactional(async (tx) => {
    const key = `deposit:${m.accountId}:${m.reference}`;
    const posted = await postLedgerTransaction(tx, {
      idempotencyKey: key,
      kind: 'DEPOSIT',
      accountId: m.accountId,
      orderId: null,
      reference: m.reference,
      fingerprint: fingerprint('DEPOSIT', m),
      postings: depositPostings(m.accountId, m.asset, m.amount),
    });
    if (posted.created) {
      const data = { accountId: m.accountId, asset: m.asset, amount: str(m.amount), reference: m.reference, transactionId: posted.id };
      await appendEvents(tx, key, [draft('funds.deposited', data)], ctx);
    }
    return { transactionId: posted.id, created: posted.created };
  });
}

/** A withdrawal from what is available; InsufficientFundsError when it is not covered. */
export async function withdraw(em: EntityManager, m: FundsMovement, ctx: EventContext): Promise<FundsMovementResult> {
  return em.transactional(async (tx) => {
    const key = `withdrawal:${m.accountId}:${m.reference}`;
    const posted = await postLedgerTransaction(tx, {
      idempotencyKey: key,
      kind: 'WITHDRAWAL',
      accountId: m.accountId,
      orderId: null,
      reference: m.reference,
      fingerprint: fingerprint('WITHDRAWAL', m),
      postings: withdrawalPostings(m.accountId, m.asset, m.amount),
    });
    if (posted.created) {
      const data = { accountId: m.accountId, asset: m.asset, amount: str(m.amount), reference: m.reference, transactionId: posted.id };
      await appendEvents(tx, key, [draft('funds.withdrawn', data)], ctx);
    }
    return { transactionId: posted.id, created: posted.created };
  });
}

