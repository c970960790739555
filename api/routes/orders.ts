/** Orders: place (Update-with-Start), read, list, cancel (Update). */
import Router from '@koa/router';
import type { OrderSnapshot, PlaceOrderRequest } from '../../domain/order';
import { findAccount } from '../../persistence/accounts/repository';
import { findOrder, listOrders } from '../../persistence/orders/repository';
import { authenticate, type Principal } from '../authentication';
import { requireAccess, requireActive } from '../authorization';
import type { ApiDeps, AppContext, AppState } from '../context';
import { CancelRefusedError, ClientOrderIdConflictError, PlacementUnconfirmedError } from '../../clients/order-client';
import { Problem } from '../problem';
import { cancelOrderBody, listOrdersQuery, placeOrderBody, uuid } from '../schemas';
import { parse } from '../validate';

function toRequest(body: ReturnType<typeof placeOrderBody.parse>): PlaceOrderRequest {
  return {
    clientOrderId: body.clientOrderId,
    accountId: body.accountId,
    symbol: body.symbol,
    side: body.side,
    type: body.type,
    quantity: body.quantity,
    limitPrice: body.limitPrice ?? null,
    timeInForce: body.timeInForce ?? (body.type === 'MARKET' ? 'IOC' : 'GTC'),
    expireAt: body.expireAt ?? null,
  };
}

/** Cursor for keyset pagination over (createdAt, orderId), newest first. */
function cursorOf(o: OrderSnapshot): string {
  return Buffer.from(`${o.createdAt}|${o.orderId}`).toString('base64url');
}

function parseCursor(cursor: string): { createdAt: string; id: string } {
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!createdAt || !id || Number.isNaN(Date.parse(createdAt)) || !uuid.safeParse(id).success) throw Problem.field('before', 'is not a valid cursor');
  return { createdAt, id };
}

export function orderRoutes(deps: ApiDeps): Router<AppState, AppContext> {
  const router = new Router<AppState, AppContext>();
  const caller = (ctx: AppContext): Promise<Principal> => authenticate(ctx, deps.config.OPERATOR_API_KEY);

  /** The order named by :id, once the caller is known to be allowed to see it. */
  async function orderParam(ctx: AppContext): Promise<OrderSnapshot> {
    const principal = await caller(ctx);
    const id = parse(uuid, ctx.params.id);
    const order = await findOrder(ctx.state.em, id);
    if (!order) throw Problem.notFound(`order ${id}`);
    requireAccess(principal, order.accountId);
    return order;
  }

  router.post('/orders', async (ctx) => {
    const principal = await caller(ctx);
    const body = parse(placeOrderBody, ctx.request.body);
    requireAccess(principal, body.accountId);
    const account = await findAccount(ctx.state.em, body.accountId);
    if (!account) throw Problem.field('accountId', `account ${body.accountId} does not exist`);
    requireActive(account);
    try {
      const { order, created, pending } = await deps.orders.place(toRequest(body), ctx.state.events);
      ctx.status = pending ? 202 : created ? 201 : 200;
      ctx.set('Location', `/orders/${order.orderId}`);
      ctx.body = order;
      ctx.state.logger.info({ orderId: order.orderId, status: order.status, created, pending }, 'order placed');
    } catch (err) {
      if (err instanceof ClientOrderIdConflictError) {
        throw Problem.conflict('clientOrderId already used', err.message, { field: 'clientOrderId' });
      }
      if (err instanceof PlacementUnconfirmedError) throw Problem.unavailable(err.message, 1);
      throw err;
    }
  });

  router.get('/orders', async (ctx) => {
    const principal = await caller(ctx);
    const q = parse(listOrdersQuery, ctx.query);
    const accountId = q.accountId ?? (principal.kind === 'account' ? principal.accountId : undefined);
    if (accountId) requireAccess(principal, accountId);
    const orders = await listOrders(ctx.state.em, { accountId, status: q.status, limit: q.limit, before: q.before ? parseCursor(q.before) : undefined });
    ctx.body = { orders, next: orders.length === q.limit ? cursorOf(orders[orders.length - 1]) : null };
  });

  router.get('/orders/:id', async (ctx) => {
    ctx.body = await orderParam(ctx);
  });

  router.post('/orders/:id/cancel', async (ctx) => {
    const order = await orderParam(ctx);
    const body = parse(cancelOrderBody, ctx.request.body ?? {});
    try {
      const result = await deps.orders.cancel(order.orderId, body.reason ?? null, ctx.state.events);
      ctx.status = 200;
      ctx.body = { ...result.order, cancelOutcome: result.outcome };
    } catch (err) {
      if (err instanceof CancelRefusedError) {
        throw Problem.conflict('Order not cancellable', err.message, { orderId: order.orderId, orderStatus: err.order?.status ?? order.status });
      }
      throw err;
    }
  });

  return router;
}
