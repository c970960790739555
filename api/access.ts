/** Who may act on what: the one way every route identifies its caller and account. */
import { z } from 'zod';
import { Account } from '../persistence/entities';
import { authenticate, requireAccess, type Principal } from './auth';
import type { AppContext } from './context';
import { Problem } from './problem';
import { uuid } from './schemas';
import { parse } from './validate';

const accountPath = z.object({ id: uuid });

/** The caller, from its API key (401 without a valid one). */
export function principalOf(ctx: AppContext, operatorKey: string): Promise<Principal> {
  return authenticate(ctx.state.em, ctx.get('authorization'), operatorKey);
}

/**
 * The account named by the path's :id, once the caller is known (401), allowed to act
 * on it (403), the id well-formed (400 naming `id`) and the account known (404).
 */
export async function accountFromPath(ctx: AppContext, operatorKey: string): Promise<string> {
  const principal = await principalOf(ctx, operatorKey);
  const { id } = parse(accountPath, ctx.params);
  requireAccess(principal, id);
  if ((await ctx.state.em.count(Account, { id })) === 0) throw Problem.notFound(`account ${id}`);
  return id;
}
