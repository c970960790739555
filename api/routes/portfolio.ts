/**
 * GET /accounts/:id/portfolio: the account's cash per asset and positions per symbol,
 * from the portfolio subscriber's projection: the ledger as of `asOf` (it lags the
 * events by the subscriber's processing time), positions marked to the venue's market price.
 */
import Router from '@koa/router';
import { getPortfolio } from '../../subscribers/portfolio/store';
import { accountFromPath } from '../authorization';
import type { ApiDeps, AppContext, AppState } from '../context';

export function portfolioRoutes(deps: ApiDeps): Router<AppState, AppContext> {
  const router = new Router<AppState, AppContext>();

  router.get('/accounts/:id/portfolio', async (ctx) => {
    ctx.body = await getPortfolio(ctx.state.em, await accountFromPath(ctx, deps.config.OPERATOR_API_KEY), deps.venue);
  });

  return router;
}
