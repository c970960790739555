/** The simulated venue's market data: operators post ticks, which match resting orders. */
import Router from '@koa/router';
import { dec, isMultipleOf, str } from '../../domain/decimal';
import { Instrument } from '../../persistence/entities';
import { principalOf } from '../access';
import { requireOperator } from '../auth';
import type { ApiDeps, AppContext, AppState } from '../context';
import { Problem } from '../problem';
import { tickBody } from '../schemas';
import { parse } from '../validate';

export function marketRoutes(deps: ApiDeps): Router<AppState, AppContext> {
  const router = new Router<AppState, AppContext>();

  router.post('/market/ticks', async (ctx) => {
    requireOperator(await principalOf(ctx, deps.config.OPERATOR_API_KEY));
    const body = parse(tickBody, ctx.request.body);
    const instrument = await ctx.state.em.findOne(Instrument, { symbol: body.symbol });
    if (!instrument) throw Problem.field('symbol', `unknown symbol ${body.symbol}`);
    if (!isMultipleOf(dec(body.price), dec(instrument.tickSize))) {
      throw Problem.field('price', `must be a multiple of the tick size ${str(instrument.tickSize)}`);
    }
    const fills = await deps.venue.recordTick({ symbol: body.symbol, price: body.price, liquidity: body.liquidity ?? null }, ctx.state.correlationId);
    deps.dispatcher.kick(); // deliver the fills to their orders now (and retried until they arrive)
    ctx.status = 202;
    ctx.body = { symbol: body.symbol, price: body.price, liquidity: body.liquidity ?? null, matched: fills.length, fills };
  });

  router.get('/market/ticks/:symbol', async (ctx) => {
    const tick = await deps.venue.lastTick(ctx.params.symbol);
    if (!tick) throw Problem.notFound(`a tick for ${ctx.params.symbol}`);
    ctx.body = { symbol: ctx.params.symbol, ...tick };
  });

  return router;
}
