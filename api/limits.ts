/**
 * What one caller may take from the API (rate-limiter-flexible, in this process's
 * memory: with several API copies each applies the limits on its own):
 *
 * - requests: RATE_LIMIT_PER_SECOND per API key, plus a burst of RATE_LIMIT_BURST more
 *   spread over any 10 s; requests without a key, and every request whose key was
 *   refused (401), count against the caller's IP address under the same limits, so
 *   guessing keys is limited too. Over the limit: 429 problem+json with Retry-After
 *   (whole seconds). Health probes are not limited.
 *
 * Request bodies are limited in app.ts (413 over 64 KiB); live event streams per key
 * and slow stream clients in live-streams.ts.
 */
import { createHash } from 'node:crypto';
import type { Next } from 'koa';
import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { AppConfig } from '../config';
import { bearerKey } from './authentication';
import type { AppContext } from './context';
import { Problem } from './problem';

export type LimitsConfig = Pick<AppConfig, 'RATE_LIMIT_PER_SECOND' | 'RATE_LIMIT_BURST'>;

const BURST_WINDOW_SECONDS = 10;
const UNLIMITED_PATHS = new Set(['/healthz', '/readyz']);

/** The rate with its burst; `perSecond` alone tells how much a caller used this second. */
function limiter(config: LimitsConfig): { bursty: Pick<BurstyRateLimiter, 'consume'>; perSecond: RateLimiterMemory } {
  const perSecond = new RateLimiterMemory({ points: config.RATE_LIMIT_PER_SECOND, duration: 1 });
  if (config.RATE_LIMIT_BURST === 0) return { bursty: perSecond, perSecond };
  const burst = new RateLimiterMemory({ keyPrefix: 'burst', points: config.RATE_LIMIT_BURST, duration: BURST_WINDOW_SECONDS });
  return { bursty: new BurstyRateLimiter(perSecond, burst), perSecond };
}

/** The rate limit middleware (see above). */
export function rateLimit(config: LimitsConfig): (ctx: AppContext, next: Next) => Promise<void> {
  const byKey = limiter(config);
  const byIp = limiter(config);
  const refused = (res: unknown): Problem => {
    if (!(res instanceof RateLimiterRes)) throw res;
    const retryAfter = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
    return Problem.tooManyRequests(`at most ${config.RATE_LIMIT_PER_SECOND} requests a second (burst ${config.RATE_LIMIT_BURST}); retry after ${retryAfter} s`, retryAfter);
  };
  return async (ctx, next) => {
    if (UNLIMITED_PATHS.has(ctx.path)) return next();
    const key = bearerKey(ctx.get('authorization'));
    const ip = ctx.request.ip || 'unknown';
    try {
      if (key) {
        // An address that kept presenting refused keys is limited whatever key it sends now.
        const byAddress = await byIp.perSecond.get(ip);
        if (byAddress && byAddress.consumedPoints > config.RATE_LIMIT_PER_SECOND + config.RATE_LIMIT_BURST) throw byAddress;
        await byKey.bursty.consume(createHash('sha256').update(key).digest('hex'));
      } else {
        await byIp.bursty.consume(ip);
      }
    } catch (res) {
      throw refused(res);
    }
    const penalise = () => byIp.bursty.consume(ip).catch(() => undefined);
    try {
      await next();
    } catch (err) {
      // The problem is answered further out (app.ts); a refused key counts against the address.
      if (key && err instanceof Problem && err.status === 401) await penalise();
      throw err;
    }
    if (key && ctx.status === 401) await penalise();
  };
}
