/**
 * The Koa application: correlation ids, one EntityManager fork per request, JSON
 * bodies, problem+json errors, request logs, and the routes.
 */
import { randomUUID } from 'node:crypto';
import { bodyParser } from '@koa/bodyparser';
import Koa from 'koa';
import type { ApiDeps, AppContext, AppState } from './context';
import { Problem, sendProblem } from './problem';
import { accountRoutes } from './routes/accounts';
import { marketRoutes } from './routes/market';
import { orderRoutes } from './routes/orders';
import { systemRoutes } from './routes/system';

const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function createApp(deps: ApiDeps): Koa<AppState, AppContext> {
  const app = new Koa<AppState, AppContext>();
  app.proxy = false;

  // Correlation id: the caller's (if well-formed) or a new one; echoed on every answer.
  app.use(async (ctx, next) => {
    const given = ctx.get('x-correlation-id');
    ctx.state.correlationId = CORRELATION_ID.test(given) ? given : randomUUID();
    ctx.set('X-Correlation-Id', ctx.state.correlationId);
    ctx.state.logger = deps.logger.child({ correlationId: ctx.state.correlationId });
    ctx.state.em = deps.orm.em.fork();
    const started = Date.now();
    try {
      await next();
    } finally {
      ctx.state.logger.info({ method: ctx.method, path: ctx.path, status: ctx.status, ms: Date.now() - started }, 'request');
    }
  });

  // Errors: problems as they are; anything else is a 500 that leaks no internals.
  app.use(async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) sendProblem(ctx, Problem.notFound(`${ctx.method} ${ctx.path}`));
    } catch (err) {
      if (err instanceof Problem) return sendProblem(ctx, err);
      const status = (err as { status?: number; expose?: boolean }).status;
      if (status && status >= 400 && status < 500 && (err as { expose?: boolean }).expose) {
        return sendProblem(ctx, new Problem(status, 'Bad request', (err as Error).message));
      }
      ctx.state.logger.error({ err }, 'request failed');
      sendProblem(ctx, new Problem(500, 'Internal error', 'the request failed; it is safe to retry with the same identifiers'));
    }
  });

  app.use(
    bodyParser({
      enableTypes: ['json'],
      jsonLimit: '64kb',
      onError: () => {
        throw Problem.field('(body)', 'is not valid JSON');
      },
    }),
  );

  for (const router of [systemRoutes(deps), accountRoutes(deps), orderRoutes(deps), marketRoutes(deps)]) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  return app;
}
