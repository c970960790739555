/**
 * API keys: `Authorization: Bearer <key>`. The operator key (OPERATOR_API_KEY) may do
 * anything; an account's key may act only on that account. No key, or an unknown
 * one: 401. A known key on another account's resource: 403.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { findAccountByKey } from '../persistence/accounts';
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

export async function authenticate(em: EntityManager, header: string | undefined, operatorKey: string): Promise<Principal> {
  const key = bearerKey(header);
  if (!key) throw Problem.unauthorized();
  if (sameSecret(key, operatorKey)) return { kind: 'operator' };
  const account = await findAccountByKey(em, key);
  if (!account) throw Problem.unauthorized('unknown API key');
  return { kind: 'account', accountId: account.id };
}

export function requireOperator(p: Principal): void {
  if (p.kind !== 'operator') throw Problem.forbidden('this needs the operator key');
}

export function requireAccess(p: Principal, accountId: string): void {
  if (p.kind === 'account' && p.accountId !== accountId) throw Problem.forbidden();
}
