import { randomUUID } from 'node:crypto';
import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import {
  CommandRejectedError, ETAG_HEADER, HAL_JSON, currentTraceCarrier, NotFoundError, ValidationError, bodyOf, exists, idParamsSchema, link,
  linksSchema, mountAggregateRoutes, pageQuerySchema, pageRequest, pagedCollection, pagedCollectionSchema, requireUuid, resource, route, timestampSchema,
  retryOnConflict, statusFilterSchema, validate, ALL_ACCOUNTS, accessOf, canSeeAccount, type AccountAccess, type Queryable, type RuntimeServices, type Tx,
} from '@tributary/runtime';
import { ACCOUNT, AccountStatus } from '../accounts/contract';
import { ORDER, ORDERS_COMMANDS_TOPIC, OrderStatus } from './contract';
import { DEADLINE } from './order.saga';
import { sagaSettings } from './settings';
import { checkOrderSize, checkOrdersInFlight, orderLimits, type OrderLimits } from './limits';
import { newOrderSchema, orderAggregate, orderDraftSchema, totalCents } from './order.aggregate';
import { findOrder, listOrders, newOrderView, orderVisible, type OrderView } from './read-model';
import type { OrderContext } from './order.machine';

const BASE = '/v1/orders';

const address = z
  .object({ street1: z.string(), street2: z.string().optional(), city: z.string(), state: z.string(), country: z.string(), zipCode: z.string() })
  .strict()
  .meta({ id: 'ShippingAddress' });

/** The order resource as the API document describes it (what {@link orderResource} returns). */
export const orderResourceSchema = z
  .object({
    orderId: z.uuid(),
    accountId: z.uuid(),
    status: z.enum(Object.values(OrderStatus) as [OrderStatus, ...OrderStatus[]]),
    total: z.number().describe('Σ (price + tax) × quantity'),
    lineItems: z.array(
      z.object({ productId: z.string(), name: z.string(), quantity: z.number().int(), price: z.number(), tax: z.number() }).strict().meta({ id: 'LineItem' }),
    ),
    shippingAddress: address,
    warehouseId: z.string().optional(),
    reservationIds: z.array(z.string()),
    paymentId: z.string().optional(),
    failureReason: z.string().optional(),
    version: z.number().int().min(1),
    createdAt: timestampSchema,
    lastModified: timestampSchema,
    _links: linksSchema(['self', 'events', 'commands', 'account', 'reservations', 'timeline'], ['payment']),
  })
  .strict()
  .meta({ id: 'Order' });

const tags = ['Orders'];
const created = { description: 'The new order (ORDER_CREATED); follow it to ORDER_SUCCEEDED or ORDER_FAILED', schema: orderResourceSchema, headers: { Location: "The new order's URL" } };
const rejected = { description: 'The account is not active (command-rejected)' };
const tooMany = {
  description: 'The account has ORDERS_IN_FLIGHT_PER_ACCOUNT orders, or ORDER_UNITS_IN_FLIGHT_PER_ACCOUNT units, not yet succeeded or failed (`limit` names the cap), or the client is over its request rate',
  headers: { 'Retry-After': 'Seconds to wait before trying again' },
};
const accountFilter = pageQuerySchema.extend({
  accountId: z.string().optional().describe("Only this account's orders (a UUID; anything else is answered 404)"),
  status: statusFilterSchema(orderAggregate),
});
const statusFilter = z.object({ status: statusFilterSchema(orderAggregate) });

/** The order resource: `self, events, commands, account, payment, reservations, timeline`. */
export function orderResource(o: OrderView) {
  const self = `${BASE}/${o.orderId}`;
  return resource(o, {
    self: link(self),
    events: link(`${self}/events`),
    commands: link(`${self}/commands`),
    account: link(`/v1/accounts/${o.accountId}`),
    ...(o.paymentId ? { payment: link(`/v1/payments/${o.paymentId}`) } : {}),
    reservations: link(`${self}/reservations`),
    // The saga's correlation id is the order id: the timeline of everything it did.
    timeline: link(`/v1/correlations/${o.orderId}`),
  });
}

async function presentOrder(q: Queryable, id: string, access: AccountAccess) {
  const order = await findOrder(q, id, access);
  if (!order) throw new NotFoundError(`No order with id ${id}`);
  return orderResource(order);
}

/**
 * The account an order is placed for, as of this transaction. On the first try it is the
 * state this process last saw, checked unchanged when the transaction commits (a stale one
 * fails it with ConcurrencyError and the order is placed again on the log's state): no read
 * in the common case. It is refused only on the log's state, never on a cached one.
 */
async function accountFor(services: RuntimeServices, tx: Tx, accountId: string, accountMissing: 'invalid' | 'not-found') {
  let account = await services.actors.load(ACCOUNT, accountId, tx);
  if (tx.optimistic && (!exists(account) || account.status !== AccountStatus.ACCOUNT_ACTIVE)) {
    tx.loadFromLog();
    account = await services.actors.load(ACCOUNT, accountId, tx);
  }
  if (!exists(account)) {
    if (accountMissing === 'not-found') throw new NotFoundError(`No account with id ${accountId}`);
    throw new ValidationError(`accountId: no account with id ${accountId}`, [{ path: 'accountId', message: 'no such account' }]);
  }
  if (account.status !== AccountStatus.ACCOUNT_ACTIVE) {
    throw new CommandRejectedError('Only active accounts can create an order', 'postOrder', account.status);
  }
}

/** Places an order for an account that must be ACCOUNT_ACTIVE now (checked again by the saga). */
async function placeOrder(ctx: Context, services: RuntimeServices, stepTimeoutMs: number, limits: OrderLimits, input: unknown, accountMissing: 'invalid' | 'not-found') {
  const draft = validate(newOrderSchema, input);
  checkOrderSize(draft.lineItems, totalCents(draft.lineItems), limits);
  const units = draft.lineItems.reduce((n, l) => n + l.quantity, 0);
  // A credential bound to another account: 404, before anything is written.
  if (!canSeeAccount(accessOf(ctx), draft.accountId)) throw new NotFoundError(`No account with id ${draft.accountId}`);
  const id = randomUUID();
  const actor = { type: ORDER, id };
  // First run: the cached account, checked at commit (see accountFor); a stale one fails it
  // with ConcurrencyError, and the order is placed again, deciding on the log.
  const placed = await retryOnConflict(
    (attempt) =>
      services.db.committed(async (tx) => {
        await accountFor(services, tx, draft.accountId, accountMissing);
        await checkOrdersInFlight(tx, draft.accountId, units, limits);
        // The order id is the saga's correlation id: every message of this order carries it.
        const { state } = await services.actors.execute<OrderContext>(ORDER, id, 'place', draft, {
          tx,
          expectedVersion: 0,
          causation: { correlationId: id, causationId: (ctx.state.correlationId as string) ?? id },
        });
        // From its first moment an order has a deadline: if ORDER_CREATED never reaches the saga
        // (Redis lost it), the saga starts anyway.
        tx.schedule({
          actor,
          name: DEADLINE,
          topic: ORDERS_COMMANDS_TOPIC,
          dueAt: new Date(Date.now() + stepTimeoutMs),
          data: { step: 'resume', attempt: 1, status: OrderStatus.ORDER_CREATED },
          correlationId: id,
          ...currentTraceCarrier(),
        });
        return state;
        // The answer is the row as this transaction writes it (its timestamp comes back with the
        // commit), so the order is not read back.
      }, { optimistic: attempt === 1 }).then(({ result, committedAt }) => newOrderView(id, result, committedAt)),
    2,
  );
  ctx.status = 201;
  ctx.set('Location', `${BASE}/${id}`);
  ctx.type = HAL_JSON;
  ctx.body = orderResource(placed);
}

export function orderRoutes(router: Router, services: RuntimeServices): void {
  // Read once, when the web role starts: a bad ORDER_* value stops start-up.
  const { stepTimeoutMs } = sagaSettings(services.config.env);
  const limits = orderLimits(services.config.env);
  route(router, {
    method: 'post',
    path: BASE,
    operationId: 'placeOrder',
    summary: 'Places an order for an active account; the saga then reserves, charges and completes it',
    description: 'A 400 also answers an accountId that names no account.',
    tags,
    scope: 'write',
    perAccount: true,
    body: newOrderSchema,
    responses: { 201: created, 404: { description: 'For a credential bound to an account: accountId names another account' }, 409: rejected, 429: tooMany },
  }, (ctx) => placeOrder(ctx, services, stepTimeoutMs, limits, bodyOf(ctx), 'invalid'));

  route(router, {
    method: 'post',
    path: '/v1/accounts/:id/commands/postOrder',
    operationId: 'postOrder',
    summary: "Places an order for this account (the account's postOrder command, offered by the orders context)",
    tags,
    scope: 'write',
    perAccount: true,
    params: idParamsSchema,
    body: orderDraftSchema,
    responses: { 201: created, 404: { description: 'No account with that id' }, 409: rejected, 429: tooMany },
  }, async (ctx) => {
    const accountId = requireUuid(ctx.params.id, ACCOUNT);
    const body = validate(orderDraftSchema, bodyOf(ctx) ?? {});
    await placeOrder(ctx, services, stepTimeoutMs, limits, { ...body, accountId }, 'not-found');
  });

  route(router, {
    method: 'get',
    path: BASE,
    operationId: 'listOrders',
    summary: 'The orders, oldest first, paged (optionally those of one account)',
    tags,
    scope: 'read',
    perAccount: true,
    query: accountFilter,
    responses: {
      200: { description: 'One page of orders', schema: pagedCollectionSchema(ORDER, orderResourceSchema) },
      404: { description: 'accountId is not an account id' },
    },
  }, async (ctx) => {
    const page = pageRequest(ctx.query);
    const accountId = typeof ctx.query.accountId === 'string' ? ctx.query.accountId : undefined;
    if (accountId !== undefined) requireUuid(accountId, ACCOUNT);
    const { status } = validate(statusFilter, { status: ctx.query.status });
    const { items, total } = await listOrders(services.db, accessOf(ctx), page.page, page.size, accountId?.toLowerCase(), status);
    ctx.type = HAL_JSON;
    ctx.body = pagedCollection(BASE, ORDER, items.map(orderResource), page, total, { accountId, status });
  });

  route(router, {
    method: 'get',
    path: '/v1/accounts/:id/orders',
    operationId: 'listAccountOrders',
    summary: "An account's orders, oldest first, paged",
    tags,
    scope: 'read',
    perAccount: true,
    params: idParamsSchema,
    query: pageQuerySchema,
    responses: {
      200: { description: 'One page of orders', schema: pagedCollectionSchema(ORDER, orderResourceSchema, { extraLinks: ['account'] }) },
      404: { description: 'Not an account id, or (for a credential bound to an account) another account' },
    },
  }, async (ctx) => {
    const accountId = requireUuid(ctx.params.id, ACCOUNT);
    const access = accessOf(ctx);
    if (!canSeeAccount(access, accountId)) throw new NotFoundError(`No account with id ${accountId}`);
    const page = pageRequest(ctx.query);
    const { items, total } = await listOrders(services.db, access, page.page, page.size, accountId);
    ctx.type = HAL_JSON;
    const body = pagedCollection(`/v1/accounts/${accountId}/orders`, ORDER, items.map(orderResource), page, total);
    body._links.account = link(`/v1/accounts/${accountId}`);
    ctx.body = body;
  });

  route(router, {
    method: 'get',
    path: `${BASE}/:id`,
    operationId: 'getOrder',
    summary: 'One order',
    tags,
    scope: 'read',
    perAccount: true,
    params: idParamsSchema,
    responses: { 200: { description: 'The order', schema: orderResourceSchema, headers: ETAG_HEADER }, 404: { description: 'No order with that id' } },
  }, async (ctx) => {
    const id = requireUuid(ctx.params.id, ORDER);
    const body = await presentOrder(services.db, id, accessOf(ctx));
    ctx.type = HAL_JSON;
    ctx.set('ETag', `"${body.version}"`);
    ctx.body = body;
  });

  mountAggregateRoutes(router, services, { basePath: BASE, aggregate: ORDER, schema: orderResourceSchema, present: (state, _s, q) => presentOrder(q, state.id, ALL_ACCOUNTS),
    visible: (q, id, access) => orderVisible(q, id, access),
  });
}
