/**
 * What a caller may do: the operator anything; an account's key only what concerns
 * that account (403 otherwise). An account that is not ACTIVE (SUSPENDED, CLOSED) can
 * still be read, but places no order, withdraws nothing and registers no webhook,
 * whoever asks (403). The one way every route checks access.
 */
import { z } from 'zod';
import { findAccount } from '../persistence/accounts/repository';
import type { AccountStatus } from '../persistence/accounts/entities';
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

/** Refuses a write on an account that is not ACTIVE (403). */
export function requireActive(account: { id: string; status: AccountStatus }): void {
  if (account.status !== 'ACTIVE') {
    throw Problem.forbidden(`account ${account.id} is ${account.status}: it can be read, but places no orders, withdraws nothing and registers no webhooks`);
  }
}

export interface AccountAccess {
  accountId: string;
  status: AccountStatus;
  principal: Principal;
}

/**
 * The account named by the path's :id, once the caller is known (401), allowed to act
 * on it (403), the id well-formed (400 naming `id`) and the account known (404).
 */
export async function accountAccess(ctx: AppContext, operatorKey: string): Promise<AccountAccess> {
  const principal = await authenticate(ctx, operatorKey);
  const { id } = parse(accountPath, ctx.params);
  requireAccess(principal, id);
  const account = await findAccount(ctx.state.em, id);
  if (!account) throw Problem.notFound(`account ${id}`);
  return { accountId: id, status: account.status, principal };
}

/** accountAccess for reads: the account's id. */
export async function accountFromPath(ctx: AppContext, operatorKey: string): Promise<string> {
  return (await accountAccess(ctx, operatorKey)).accountId;
}

/** accountAccess for writes an inactive account may not make (403). */
export async function activeAccountFromPath(ctx: AppContext, operatorKey: string): Promise<AccountAccess> {
  const access = await accountAccess(ctx, operatorKey);
  requireActive({ id: access.accountId, status: access.status });
  return access;
}
