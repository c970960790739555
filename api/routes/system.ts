/** Health and reference data (no key needed). */
import Router from '@koa/router';
import { listInstruments } from '../../persistence/reference/repository';
import type { ApiDeps, AppContext, AppState } from '../context';

const CHECK_TIMEOUT_MS = 2_000;

async function timed(check: () => Promise<void>): Promise<{ status: 'up' | 'down'; latencyMs: number; error?: string }> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { status: 'up', latencyMs: Date.now() - started };
  } catch (err) {
    return { status: 'down', latencyMs: Date.now() - started, error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export function systemRoutes(deps: ApiDeps): Router<AppState, AppContext> {
  const router = new Router<AppState, AppContext>();

  /** Each dependency separately; 503 when any is down. */
  router.get('/healthz', async (ctx) => {
    const results = await Promise.all(deps.health.map(async (h) => [h.name, await timed(h.check)] as const));
    const checks = Object.fromEntries(results);
    const up = results.every(([, r]) => r.status === 'up');
    ctx.status = up ? 200 : 503;
    ctx.body = { status: up ? 'ok' : 'unavailable', checks };
  });

  router.get('/instruments', async (ctx) => {
    ctx.body = { instruments: await listInstruments(ctx.state.em) };
  });

  return router;
}
