/**
 * Who is calling: `Authorization: Bearer <key>`. The operator key (OPERATOR_API_KEY)
 * or an account's API key; no key, or an unknown one, is a 401. What the caller may
 * do is decided in authorization.ts.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { findAccountByKey } from '../persistence/accounts/repository';
import type { AppContext } from './context';
import { Problem } from './problem';

export type Principal = { kind: 'operator' } | { kind: 'account'; accountId: string };

function sameSecret(a: string, b: string): boolean {
  // Compare digests so neither length nor content leaks through timing.
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

export function bearerKey(header: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m ? m[1] : null;
}

/** The caller of this request, from its API key (401 without a valid one). */
export async function authenticate(ctx: AppContext, operatorKey: string): Promise<Principal> {
  const key = bearerKey(ctx.get('authorization'));
  if (!key) throw Problem.unauthorized();
  if (sameSecret(key, operatorKey)) return { kind: 'operator' };
  const account = await findAccountByKey(ctx.state.em, key);
  if (!account) throw Problem.unauthorized('unknown API key');
  return { kind: 'account', accountId: account.id };
}
