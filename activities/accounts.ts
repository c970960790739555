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

/** What each kind of movement posts and announces. */
const MOVEMENTS = {
  deposit: { kind: 'DEPOSIT', postings: depositPostings, event: 'funds.deposited' },
  withdrawal: { kind: 'WITHDRAWAL', postings: withdrawalPostings, event: 'funds.withdrawn' },
} as const;

/**
 * Moves funds in or out, once per reference: the ledger transaction and its event in
 * one transaction. The same reference again changes nothing (created: false); with
 * other terms it is an IdempotencyConflictError; a withdrawal not covered by what is
 * available is an InsufficientFundsError (nothing committed).
 */
async function moveFunds(em: EntityManager, movement: keyof typeof MOVEMENTS, m: FundsMovement, ctx: EventContext): Promise<FundsMovementResult> {
  const spec = MOVEMENTS[movement];
  return em.transactional(async (tx) => {
    const key = `${movement}:${m.accountId}:${m.reference}`;
    const posted = await postLedgerTransaction(tx, {
      idempotencyKey: key,
      kind: spec.kind,
      accountId: m.accountId,
      orderId: null,
      reference: m.reference,
      fingerprint: fingerprint(spec.kind, m),
      postings: spec.postings(m.accountId, m.asset, m.amount),
    });
    if (posted.created) {
      const data = { accountId: m.accountId, asset: m.asset, amount: str(m.amount), reference: m.reference, transactionId: posted.id };
      await appendEvents(tx, key, [draft(spec.event, data)], ctx);
    }
    return { transactionId: posted.id, created: posted.created };
  });
}

export function deposit(em: EntityManager, m: FundsMovement, ctx: EventContext): Promise<FundsMovementResult> {
  return moveFunds(em, 'deposit', m, ctx);
}

export function withdraw(em: EntityManager, m: FundsMovement, ctx: EventContext): Promise<FundsMovementResult> {
  return moveFunds(em, 'withdrawal', m, ctx);
}
