/**
 * The Koa application: correlation ids, one EntityManager fork per request, JSON
 * bodies, problem+json errors, request logs, and the routes.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { bodyParser } from '@koa/bodyparser';
import Koa from 'koa';
import type { ApiDeps, AppContext, AppState } from './context';
import { rateLimit } from './limits';
import { Problem, sendProblem } from './problem';
import { accountRoutes } from './routes/accounts';
import { eventRoutes } from './routes/events';
import { marketRoutes } from './routes/market';
import { notificationRoutes } from './routes/notifications';
import { orderRoutes } from './routes/orders';
import { portfolioRoutes } from './routes/portfolio';
import { reportRoutes } from './routes/reports';
import { systemRoutes } from './routes/system';

/** The largest request body taken (larger: 413). */
const MAX_BODY = '64kb';
const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

export function createApp(deps: ApiDeps): Koa<AppState, AppContext> {
  const app = new Koa<AppState, AppContext>();
  app.proxy = false;
  // Errors Koa sees outside the handlers (a client that hangs up on an event stream is routine).
  app.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ERR_STREAM_PREMATURE_CLOSE' || err.code === 'ECONNRESET') return;
    deps.logger.error({ err }, 'unhandled application error');
  });

  // Correlation id: the caller's (if well-formed) or a new one; echoed on every answer.
  app.use(async (ctx, next) => {
    const given = ctx.get('x-correlation-id');
    ctx.state.correlationId = CORRELATION_ID.test(given) ? given : randomUUID();
    ctx.set('X-Correlation-Id', ctx.state.correlationId);
    // W3C Trace Context: carry the caller's trace id into the events, when there is one.
    const traceId = TRACEPARENT.exec(ctx.get('traceparent'))?.[1] ?? null;
    ctx.state.events = { correlationId: ctx.state.correlationId, causationId: ctx.state.correlationId, traceId };
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
      // Answers the router makes itself (405 with Allow, 501) are problems too.
      else if (ctx.status >= 400 && ctx.body === undefined) sendProblem(ctx, new Problem(ctx.status, STATUS_CODES[ctx.status] ?? 'Error', `${ctx.method} ${ctx.path}: ${STATUS_CODES[ctx.status] ?? 'refused'}`));
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

  app.use(rateLimit(deps.config));

  app.use(
    bodyParser({
      enableTypes: ['json'],
      jsonLimit: MAX_BODY,
      onError: (err: Error & { status?: number }) => {
        if (err.status === 413) throw new Problem(413, 'Payload too large', `a request body may have at most ${MAX_BODY}`);
        throw Problem.field('(body)', 'is not valid JSON');
      },
    }),
  );

  const routers = [
    systemRoutes(deps),
    accountRoutes(deps),
    orderRoutes(deps),
    ...(deps.venue ? [marketRoutes(deps, deps.venue)] : []),
    portfolioRoutes(deps),
    notificationRoutes(deps),
    reportRoutes(deps),
    eventRoutes(deps),
  ];
  for (const router of routers) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  return app;
}
