/**
 * What a caller may do: the operator anything; an account's key only what concerns
 * that account (403 otherwise). The one way every route checks access.
 */
import { z } from 'zod';
import { accountExists } from '../persistence/accounts/repository';
import { authenticate, type Principal } from './authentication';
import type { AppContext } from './context';
import { Problem } from './problem';
import { uuid } from './schemas';
import { parse } from './validate';

const accountPath = z.object({ id: uuid });

export function requireOperator(p: Principal): void {
  if (p.kind !== 'operator') throw Problem.forbidden('this needs the operator key');
}

export function requireAccess(p: Principal, accountId: string): void {
  if (p.kind === 'account' && p.accountId !== accountId) throw Problem.forbidden();
}

/**
 * The account named by the path's :id, once the caller is known (401), allowed to act
 * on it (403), the id well-formed (400 naming `id`) and the account known (404).
 */
export async function accountFromPath(ctx: AppContext, operatorKey: string): Promise<string> {
  const principal = await authenticate(ctx, operatorKey);
  const { id } = parse(accountPath, ctx.params);
  requireAccess(principal, id);
  if (!(await accountExists(ctx.state.em, id))) throw Problem.notFound(`account ${id}`);
  return id;
}
