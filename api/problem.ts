/**
 * RFC 9457 problem details: every error the API answers is application/problem+json,
 * and a validation error names each offending field.
 */
import type { Context } from 'koa';
import type { z } from 'zod';

export interface FieldError {
  field: string;
  message: string;
}

export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = 'Problem';
  }

  static badRequest(errors: FieldError[]): Problem {
    const detail = errors.map((e) => `${e.field}: ${e.message}`).join('; ');
    return new Problem(400, 'Invalid request', detail, { errors });
  }

  static field(field: string, message: string): Problem {
    return Problem.badRequest([{ field, message }]);
  }

  static unauthorized(detail = 'an API key is required: Authorization: Bearer <key>'): Problem {
    return new Problem(401, 'Unauthorized', detail);
  }

  static forbidden(detail = 'this key may not act on that account'): Problem {
    return new Problem(403, 'Forbidden', detail);
  }

  static notFound(what: string): Problem {
    return new Problem(404, 'Not found', `${what} does not exist`);
  }

  /** 429, with the Retry-After (whole seconds) sendProblem sets as a header. */
  static tooManyRequests(detail: string, retryAfterSeconds: number): Problem {
    return new Problem(429, 'Too many requests', detail, { retryAfterSeconds });
  }

  static conflict(title: string, detail: string, extra: Record<string, unknown> = {}): Problem {
    return new Problem(409, title, detail, extra);
  }

  /** 503: not done now, safe to retry after `retryAfterSeconds` (a Retry-After header too). */
  static unavailable(detail: string, retryAfterSeconds: number): Problem {
    return new Problem(503, 'Service unavailable', detail, { retryAfterSeconds });
  }
}

/** The field path of a zod issue, as a client names it ("fills[0].price" style). */
export function fieldOf(path: PropertyKey[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '') || '(body)';
}

export function fromZod(error: z.ZodError): Problem {
  return Problem.badRequest(error.issues.map((i) => ({ field: fieldOf(i.path), message: i.message })));
}

export function sendProblem(ctx: Context, p: Problem): void {
  ctx.status = p.status;
  if (typeof p.extra.retryAfterSeconds === 'number') ctx.set('Retry-After', String(p.extra.retryAfterSeconds));
  ctx.type = 'application/problem+json';
  ctx.body = { type: 'about:blank', title: p.title, status: p.status, detail: p.detail, instance: ctx.path, ...p.extra };
}
