/**
 * Liveness, readiness and reference data (no key needed).
 *
 *   GET /healthz  200 while the process serves requests (liveness: restart it when this fails)
 *   GET /readyz   200 when orders can flow, 503 when a part is down; the body names each
 *                 part (readiness.ts) with its status, what it saw or why it is down
 */
import Router from '@koa/router';
import { listInstruments } from '../../persistence/reference/repository';
import type { ApiDeps, AppContext, AppState } from '../context';
import type { ReadinessCheck } from '../readiness';

const CHECK_TIMEOUT_MS = 2_000;

async function timed(check: ReadinessCheck['check']): Promise<{ status: 'up' | 'down'; latencyMs: number; error?: string } & Record<string, unknown>> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const seen = await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { status: 'up', latencyMs: Date.now() - started, ...(seen ?? {}) };
  } catch (err) {
    return { status: 'down', latencyMs: Date.now() - started, error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export function systemRoutes(deps: ApiDeps): Router<AppState, AppContext> {
  const router = new Router<AppState, AppContext>();

  const startedAt = Date.now();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok', uptimeSeconds: Math.floor((Date.now() - startedAt) / 1000) };
  });

  /** Each part separately; 503 when any is down. */
  router.get('/readyz', async (ctx) => {
    const results = await Promise.all(deps.readiness.map(async (c) => [c.name, await timed(c.check)] as const));
    const checks = Object.fromEntries(results);
    const up = results.every(([, r]) => r.status === 'up');
    ctx.status = up ? 200 : 503;
    ctx.body = { status: up ? 'ready' : 'not ready', checks };
  });

  router.get('/instruments', async (ctx) => {
    ctx.body = { instruments: await listInstruments(ctx.state.em) };
  });

  return router;
}
