/**
 * The order workflow's activities, built over injected dependencies. Each is one
 * step of the lifecycle; the workflow makes every decision and these carry it out:
 * read reference data, commit a change (commit.ts: read model, ledger and outbox in
 * one transaction), talk to the venue. All are idempotent, because Temporal retries
 * them.
 *
 * Business failures are non-retryable ApplicationFailures with typed names; anything
 * else (database or venue down) is thrown as is and retried.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { nextSessionClose, validateOrder as firstRejection, type Instrument, type Rejection } from '../../domain/instrument';
import { appendEvents, draft } from '../../events/outbox';
import { findAccount } from '../../persistence/accounts/repository';
import { InsufficientFundsError } from '../../persistence/ledger/repository';
import { findOrder } from '../../persistence/orders/repository';
import { findInstrument } from '../../persistence/reference/repository';
import type { Orm } from '../../persistence/orm';
import type { ExchangeAdapter } from '../../venue/exchange';
import { OrderFailureTypes, UNKNOWN_CAUSE, type OrderActivities, type OrderCommit } from '../../workflows/order/definitions';
import { commitOrderChange, commitOrderChanges } from './commit';

export interface MarketData {
  /** The venue's last traded price for a symbol, or null before the first tick. */
  lastPrice(symbol: string): Promise<string | null>;
}

export interface OrderActivityDeps {
  orm: Orm;
  venue: ExchangeAdapter;
  marketData: MarketData;
  /** TRADING_DAY_CLOSE_UTC */
  tradingDayCloseUtc: string;
  /** MARKET_ORDER_COLLAR */
  marketOrderCollar: string;
  /** ORDER_SUBMISSION_DEADLINE_MS (none: no deadline). */
  submissionDeadlineMs?: number;
  now?: () => number;
}

function reject(r: Rejection): never {
  throw ApplicationFailure.create({ type: OrderFailureTypes.validation, message: r.message, nonRetryable: true, details: [r], category: 'BENIGN' });
}

/** Runs a commit, turning "not covered" into the non-retryable business failure the workflow decides on. */
async function asBusinessFailure(run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (err) {
    if (err instanceof InsufficientFundsError) {
      throw ApplicationFailure.create({
        type: OrderFailureTypes.insufficientFunds,
        message: err.message,
        nonRetryable: true,
        details: [{ asset: err.asset, required: err.required, available: err.held }],
        // An expected business outcome, not an error: logged at DEBUG, not counted as a failure.
        category: 'BENIGN',
      });
    }
    throw err;
  }
}

export function createOrderActivities(deps: OrderActivityDeps): OrderActivities {
  const now = deps.now ?? Date.now;
  const commit = async (c: OrderCommit): Promise<void> => {
    await commitOrderChange(deps.orm.em.fork(), c);
  };

  return {
    recordOrder: commit,
    settleFill: commit,
    recordTransition: commit,

    async validateOrder({ request: req }) {
      const em = deps.orm.em.fork();
      const [account, instrument] = await Promise.all([findAccount(em, req.accountId), findInstrument(em, req.symbol)]);
      if (!account) reject({ code: 'ACCOUNT_NOT_FOUND', message: `account ${req.accountId} does not exist` });
      if (account.status !== 'ACTIVE') reject({ code: 'ACCOUNT_INACTIVE', message: `account ${req.accountId} is ${account.status}` });
      const lastPrice = instrument && req.type === 'MARKET' ? await deps.marketData.lastPrice(req.symbol) : null;
      const at = now();
      const rejection = firstRejection(req, instrument, at, lastPrice);
      if (rejection) reject(rejection);
      const expireAt =
        req.timeInForce === 'GTD' ? req.expireAt : req.timeInForce === 'DAY' ? nextSessionClose(at, deps.tradingDayCloseUtc).toISOString() : null;
      const submitBy = deps.submissionDeadlineMs ? new Date(at + deps.submissionDeadlineMs).toISOString() : null;
      return { instrument: instrument as Instrument, lastPrice, marketOrderCollar: deps.marketOrderCollar, expireAt, submitBy };
    },

    async lockFunds(c) {
      await asBusinessFailure(() => commit(c));
    },

    async admitOrder(commits) {
      await asBusinessFailure(() => commitOrderChanges(deps.orm.em.fork(), commits));
    },

    async submitToVenue(order) {
      return deps.venue.submitOrder(order);
    },

    async reportFillRefused(input) {
      await deps.orm.em.fork().transactional(async (em) => {
        const found = await findOrder(em, input.orderId);
        if (!found) throw new Error(`order ${input.orderId} is not in the read model`);
        const { fills: _fills, ...order } = found;
        const key = `order:${input.orderId}:fill-refused:${input.fill.tradeId}`;
        await appendEvents(em, key, [draft('order.fill_refused', { order, fill: input.fill, reason: input.reason })], input.context ?? UNKNOWN_CAUSE);
      });
    },

    async cancelAtVenue(orderId) {
      return deps.venue.cancelOrder(orderId);
    },
  };
}
