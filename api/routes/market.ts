/**
 * The simulated venue's market data: operators post ticks, which match resting orders;
 * the venue process's fill dispatcher, woken by the venue's NOTIFY, delivers the fills.
 * Mounted only when the simulated venue is the configured venue.
 */
import Router from '@koa/router';
import { dec, isMultipleOf, str } from '../../domain/decimal';
import { findInstrument } from '../../persistence/reference/repository';
import type { SimulatedVenue } from '../../venue/simulated/venue';
import { authenticate } from '../authentication';
import { requireOperator } from '../authorization';
import type { ApiDeps, AppContext, AppState } from '../context';
import { Problem } from '../problem';
import { tickBody, venueRulesBody } from '../schemas';
import { parse } from '../validate';

export function marketRoutes(deps: ApiDeps, venue: SimulatedVenue): Router<AppState, AppContext> {
  const router = new Router<AppState, AppContext>();

  router.post('/market/ticks', async (ctx) => {
    requireOperator(await authenticate(ctx, deps.config.OPERATOR_API_KEY));
    const body = parse(tickBody, ctx.request.body);
    const instrument = await findInstrument(ctx.state.em, body.symbol);
    if (!instrument) throw Problem.field('symbol', `unknown symbol ${body.symbol}`);
    if (!isMultipleOf(dec(body.price), dec(instrument.tickSize))) {
      throw Problem.field('price', `must be a multiple of the tick size ${str(instrument.tickSize)}`);
    }
    const fills = await venue.recordTick({ symbol: body.symbol, price: body.price, liquidity: body.liquidity ?? null }, ctx.state.correlationId);
    ctx.status = 202;
    ctx.body = { symbol: body.symbol, price: body.price, liquidity: body.liquidity ?? null, matched: fills.length, fills };
  });

  router.get('/market/ticks/:symbol', async (ctx) => {
    const tick = await venue.lastTick(ctx.params.symbol);
    if (!tick) throw Problem.notFound(`a tick for ${ctx.params.symbol}`);
    ctx.body = { symbol: ctx.params.symbol, ...tick };
  });

  // The venue's refusals on the real path: refuse cancels, reject submissions (operator).
  router.put('/market/rules/:symbol', async (ctx) => {
    requireOperator(await authenticate(ctx, deps.config.OPERATOR_API_KEY));
    const body = parse(venueRulesBody, ctx.request.body);
    if (!(await findInstrument(ctx.state.em, ctx.params.symbol))) throw Problem.notFound(`instrument ${ctx.params.symbol}`);
    ctx.body = { symbol: ctx.params.symbol, ...(await venue.setRules(ctx.params.symbol, body)) };
  });

  router.get('/market/rules/:symbol', async (ctx) => {
    requireOperator(await authenticate(ctx, deps.config.OPERATOR_API_KEY));
    ctx.body = { symbol: ctx.params.symbol, ...(await venue.rules(ctx.params.symbol)) };
  });

  return router;
}
