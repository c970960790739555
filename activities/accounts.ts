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
import type { EventData } from '../events/catalogue';
import { postLedgerTransaction } from '../persistence/ledger/repository';
import { findInstrumentOfBase } from '../persistence/reference/repository';
import type { MarketPrices } from '../domain/venue';

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
  /** Deposits of a base asset only: what one unit cost, in the instrument's quote asset. */
  costBasis?: string;
}

/** A costBasis on a deposit of an asset no instrument trades as its base. */
export class CostBasisNotApplicableError extends Error {
  constructor(readonly asset: string) {
    super(`${asset} is not the base asset of any instrument: a cost basis has no quote asset to be in`);
    this.name = 'CostBasisNotApplicableError';
  }
}

export interface FundsMovementResult {
  transactionId: string;
  /** False when the reference was seen before (nothing changed). */
  created: boolean;
}

function fingerprint(kind: string, m: FundsMovement): string {
  // A declared cost basis is part of the terms (without one, the fingerprint is as it always was).
  return [kind, m.accountId, m.asset, str(m.amount), ...(m.costBasis !== undefined ? [str(m.costBasis)] : [])].join('|');
}

type PositionFacts = Pick<EventData<'funds.deposited'>, 'instrument' | 'costBasis'>;

/**
 * For a movement of a base asset: the instrument it is a position in and, for a
 * deposit, its cost basis (declared, else the market price now, else none).
 * Decided once, here, and carried by the event, so a rebuild values it the same.
 */
async function positionFacts(em: EntityManager, movement: 'deposit' | 'withdrawal', m: FundsMovement, prices: MarketPrices | null): Promise<PositionFacts> {
  const instrument = await findInstrumentOfBase(em, m.asset);
  if (!instrument) {
    if (m.costBasis !== undefined) throw new CostBasisNotApplicableError(m.asset);
    return {};
  }
  const facts: PositionFacts = { instrument: { symbol: instrument.symbol, baseAsset: instrument.baseAsset, quoteAsset: instrument.quoteAsset } };
  if (movement === 'withdrawal') return facts;
  if (m.costBasis !== undefined) return { ...facts, costBasis: { price: str(m.costBasis), source: 'declared', at: null } };
  const quote = prices ? await prices.marketPrice(instrument.symbol) : null;
  return { ...facts, costBasis: quote ? { price: str(quote.price), source: 'market', at: quote.at } : { price: '0', source: 'none', at: null } };
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
async function moveFunds(em: EntityManager, movement: keyof typeof MOVEMENTS, m: FundsMovement, ctx: EventContext, prices: MarketPrices | null): Promise<FundsMovementResult> {
  const spec = MOVEMENTS[movement];
  if (movement === 'withdrawal' && m.costBasis !== undefined) throw new Error('a withdrawal has no cost basis');
  // Before the transaction: the venue's market data is read through its own ORM, which
  // must not run inside this one's transaction context.
  const position = await positionFacts(em, movement, m, prices);
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
      const data = { accountId: m.accountId, asset: m.asset, amount: str(m.amount), reference: m.reference, transactionId: posted.id, ...position };
      await appendEvents(tx, key, [draft(spec.event, data)], ctx);
    }
    return { transactionId: posted.id, created: posted.created };
  });
}

/** `prices` values a deposit of a base asset without a declared cost basis (none given: no price, cost 0). */
export function deposit(em: EntityManager, m: FundsMovement, ctx: EventContext, prices: MarketPrices | null = null): Promise<FundsMovementResult> {
  return moveFunds(em, 'deposit', m, ctx, prices);
}

export function withdraw(em: EntityManager, m: FundsMovement, ctx: EventContext): Promise<FundsMovementResult> {
  return moveFunds(em, 'withdrawal', m, ctx, null);
}
