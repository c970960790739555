/**
 * Accounts, deposits, withdrawals, balances, the ledger, the account's status and its
 * API keys (rotation with a grace period, revocation).
 *
 * A deposit with the account's own key is a development convenience: in production
 * (NODE_ENV=production) deposits come from the operator (or the payments flow) only.
 */
import Router from '@koa/router';
import { dec } from '../../domain/decimal';
import { getAccountView, listApiKeys, revokeApiKey, rotateApiKey, setAccountStatus } from '../../persistence/accounts/repository';
import { findAsset, findInstrumentOfBase } from '../../persistence/reference/repository';
import { createAccount, deposit, withdraw, type FundsMovement } from '../../activities/accounts';
import { IdempotencyConflictError, InsufficientFundsError, ledgerEntries } from '../../persistence/ledger/repository';
import { authenticate } from '../authentication';
import { accountAccess, accountFromPath, activeAccountFromPath, requireOperator } from '../authorization';
import type { ApiDeps, AppContext, AppState } from '../context';
import { Problem } from '../problem';
import { accountStatusBody, createAccountBody, depositBody, fundsBody, ledgerQuery, rotateKeyBody, uuid } from '../schemas';
import { parse } from '../validate';

export function accountRoutes(deps: ApiDeps): Router<AppState, AppContext> {
  const router = new Router<AppState, AppContext>();

  router.post('/accounts', async (ctx) => {
    requireOperator(await authenticate(ctx, deps.config.OPERATOR_API_KEY));
    const body = parse(createAccountBody, ctx.request.body);
    const account = await createAccount(ctx.state.em, body.name, ctx.state.events);
    ctx.state.logger.info({ accountId: account.id }, 'account created');
    ctx.status = 201;
    ctx.set('Location', `/accounts/${account.id}`);
    ctx.body = account;
  });

  router.get('/accounts/:id', async (ctx) => {
    ctx.body = await getAccountView(ctx.state.em, await accountFromPath(ctx, deps.config.OPERATOR_API_KEY));
  });

  const movement = (kind: 'deposit' | 'withdrawal') => async (ctx: AppContext) => {
    // A withdrawal needs an ACTIVE account; a deposit (a credit) does not.
    const { accountId, principal } =
      kind === 'withdrawal' ? await activeAccountFromPath(ctx, deps.config.OPERATOR_API_KEY) : await accountAccess(ctx, deps.config.OPERATOR_API_KEY);
    if (kind === 'deposit' && principal.kind === 'account' && deps.config.NODE_ENV === 'production') {
      throw Problem.forbidden('in production deposits are credited by the operator or the payments flow, not with the account key');
    }
    const body = kind === 'deposit' ? parse(depositBody, ctx.request.body) : { ...parse(fundsBody, ctx.request.body), costBasis: undefined };
    const asset = await findAsset(ctx.state.em, body.asset);
    if (!asset) throw Problem.field('asset', `unknown asset ${body.asset}`);
    if (dec(body.amount).decimalPlaces() > asset.scale) {
      throw Problem.field('amount', `${body.asset} amounts have at most ${asset.scale} decimal places`);
    }
    if (kind === 'withdrawal' && (ctx.request.body as { costBasis?: unknown } | undefined)?.costBasis !== undefined) {
      throw Problem.field('costBasis', 'a withdrawal has no cost basis (units leave at the position\'s average cost)');
    }
    if (body.costBasis !== undefined && !(await findInstrumentOfBase(ctx.state.em, body.asset))) {
      throw Problem.field('costBasis', `${body.asset} is not the base asset of any instrument, so it has no cost basis`);
    }
    const m: FundsMovement = { accountId, asset: body.asset, amount: body.amount, reference: body.reference, ...(body.costBasis !== undefined ? { costBasis: body.costBasis } : {}) };
    try {
      const result = kind === 'deposit' ? await deposit(ctx.state.em, m, ctx.state.events, deps.venue) : await withdraw(ctx.state.em, m, ctx.state.events);
      ctx.status = result.created ? 201 : 200;
      ctx.body = { ...m, kind, transactionId: result.transactionId, duplicate: !result.created, account: await getAccountView(ctx.state.em, accountId) };
    } catch (err) {
      if (err instanceof InsufficientFundsError) {
        throw Problem.conflict('Insufficient funds', err.message, { asset: err.asset, requested: body.amount, available: err.held });
      }
      if (err instanceof IdempotencyConflictError) {
        throw Problem.conflict('Reference already used', `reference ${body.reference} was already used for a different ${kind}`, { field: 'reference' });
      }
      throw err;
    }
  };
  router.post('/accounts/:id/deposits', movement('deposit'));
  router.post('/accounts/:id/withdrawals', movement('withdrawal'));

  router.put('/accounts/:id/status', async (ctx) => {
    requireOperator(await authenticate(ctx, deps.config.OPERATOR_API_KEY));
    const id = await accountFromPath(ctx, deps.config.OPERATOR_API_KEY);
    const { status } = parse(accountStatusBody, ctx.request.body);
    await setAccountStatus(ctx.state.em, id, status);
    ctx.state.logger.info({ accountId: id, status }, 'account status set');
    ctx.body = await getAccountView(ctx.state.em, id);
  });

  router.post('/accounts/:id/keys', async (ctx) => {
    const id = await accountFromPath(ctx, deps.config.OPERATOR_API_KEY);
    const { graceSeconds } = parse(rotateKeyBody, ctx.request.body ?? {});
    const { key, apiKey, previousKeysExpireAt } = await rotateApiKey(ctx.state.em, id, graceSeconds);
    ctx.state.logger.info({ accountId: id, keyId: key.id, graceSeconds }, 'API key rotated');
    ctx.status = 201;
    ctx.body = { ...key, apiKey, previousKeysExpireAt };
  });

  router.get('/accounts/:id/keys', async (ctx) => {
    ctx.body = { keys: await listApiKeys(ctx.state.em, await accountFromPath(ctx, deps.config.OPERATOR_API_KEY)) };
  });

  router.delete('/accounts/:id/keys/:keyId', async (ctx) => {
    const id = await accountFromPath(ctx, deps.config.OPERATOR_API_KEY);
    const keyId = parse(uuid, ctx.params.keyId);
    if (!(await revokeApiKey(ctx.state.em, id, keyId))) throw Problem.notFound(`a working key ${keyId} of account ${id}`);
    ctx.state.logger.info({ accountId: id, keyId }, 'API key revoked');
    ctx.status = 204;
  });

  router.get('/accounts/:id/ledger', async (ctx) => {
    const id = await accountFromPath(ctx, deps.config.OPERATOR_API_KEY);
    const q = parse(ledgerQuery, ctx.query);
    const entries = await ledgerEntries(ctx.state.em, id, q.limit, q.before);
    ctx.body = { entries, next: entries.length === q.limit ? `/accounts/${id}/ledger?limit=${q.limit}&before=${entries[entries.length - 1].id}` : null };
  });

  return router;
}
