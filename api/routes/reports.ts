/**
 * GET /reports/accounts/:id?date=YYYY-MM-DD: an account's daily report (UTC day),
 * as projected from the events by the report subscriber (subscribers/report).
 * The account's own key or the operator key; 404 for an unknown account.
 */
import Router from '@koa/router';
import { z } from 'zod';
import { dailyReport } from '../../subscribers/report/store';
import { accountFromPath } from '../authorization';
import type { ApiDeps, AppContext, AppState } from '../context';
import { parse } from '../validate';

const reportQuery = z.object({ date: z.iso.date({ message: 'must be a calendar date YYYY-MM-DD (UTC day)' }) });

export function reportRoutes(deps: ApiDeps): Router<AppState, AppContext> {
  const router = new Router<AppState, AppContext>();

  router.get('/reports/accounts/:id', async (ctx) => {
    const id = await accountFromPath(ctx, deps.config.OPERATOR_API_KEY);
    const { date } = parse(reportQuery, ctx.query);
    ctx.body = await dailyReport(ctx.state.em, id, date);
  });

  return router;
}
