import type Router from '@koa/router';
import { z } from 'zod';
import {
  ETAG_HEADER, HAL_JSON, NotFoundError, idParamsSchema, link, linksSchema, mountAggregateRoutes, pageQuerySchema, pageRequest, pagedCollection,
  pagedCollectionSchema, requireUuid, resource, route, statusFilterSchema, timestampSchema, validate, ALL_ACCOUNTS, accessOf, type AccountAccess, type Queryable, type RuntimeServices,
} from '@tributary/runtime';
import { PAYMENT, PaymentStatus } from './contract';
import { findPayment, listPayments, type PaymentView } from './read-model';
import { paymentAggregate } from './payment.aggregate';

const BASE = '/v1/payments';

/** The payment resource: the seed's fields and links (`self, events, commands, order`). */
export function paymentResource(p: PaymentView) {
  const self = `${BASE}/${p.paymentId}`;
  return resource(p, {
    self: link(self),
    events: link(`${self}/events`),
    commands: link(`${self}/commands`),
    order: link(`/v1/orders/${p.orderId}`),
  });
}

async function presentPayment(q: Queryable, id: string, access: AccountAccess) {
  const payment = await findPayment(q, id, access);
  if (!payment) throw new NotFoundError(`No payment with id ${id}`);
  return paymentResource(payment);
}

const filter = z.object({
  orderId: z.string().uuid('orderId must be a UUID').optional().describe("Only this order's payments"),
  status: statusFilterSchema(paymentAggregate),
});

/** The payment resource as the API document describes it (what {@link paymentResource} returns). */
export const paymentResourceSchema = z
  .object({
    paymentId: z.uuid(),
    orderId: z.uuid(),
    amount: z.number().nullable().describe('Null only for a payment cancelled before it was ever created'),
    paymentMethod: z.string().nullable(),
    status: z.enum(Object.values(PaymentStatus) as [PaymentStatus, ...PaymentStatus[]]),
    failureReason: z.string().optional(),
    version: z.number().int().min(1),
    createdAt: timestampSchema,
    lastModified: timestampSchema,
    _links: linksSchema(['self', 'events', 'commands', 'order']),
  })
  .strict()
  .meta({ id: 'Payment' });

const tags = ['Payments'];

/**
 * Read-only over HTTP: payments are created, charged and cancelled by the order's saga
 * (payments.commands) and the charge job, so no command is public and the commands
 * resource lists none.
 */
export function paymentRoutes(router: Router, services: RuntimeServices): void {
  route(router, {
    method: 'get',
    path: BASE,
    operationId: 'listPayments',
    summary: 'The payments, oldest first, paged (optionally those of one order)',
    tags,
    scope: 'read',
    perAccount: true,
    query: pageQuerySchema.extend(filter.shape),
    responses: { 200: { description: 'One page of payments', schema: pagedCollectionSchema(PAYMENT, paymentResourceSchema) } },
  }, async (ctx) => {
    const page = pageRequest(ctx.query);
    const { orderId, status } = validate(filter, { orderId: typeof ctx.query.orderId === 'string' ? ctx.query.orderId.toLowerCase() : ctx.query.orderId, status: ctx.query.status });
    const { items, total } = await listPayments(services.db, accessOf(ctx), { orderId, status }, page.page, page.size);
    ctx.type = HAL_JSON;
    ctx.body = pagedCollection(BASE, PAYMENT, items.map(paymentResource), page, total, { orderId, status });
  });

  route(router, {
    method: 'get',
    path: `${BASE}/:id`,
    operationId: 'getPayment',
    summary: 'One payment',
    tags,
    scope: 'read',
    perAccount: true,
    params: idParamsSchema,
    responses: { 200: { description: 'The payment', schema: paymentResourceSchema, headers: ETAG_HEADER }, 404: { description: 'No payment with that id' } },
  }, async (ctx) => {
    const id = requireUuid(ctx.params.id, PAYMENT);
    const body = await presentPayment(services.db, id, accessOf(ctx));
    ctx.type = HAL_JSON;
    ctx.set('ETag', `"${body.version}"`);
    ctx.body = body;
  });

  mountAggregateRoutes(router, services, {
    basePath: BASE,
    aggregate: PAYMENT,
    schema: paymentResourceSchema,
    present: (state, _s, q) => presentPayment(q, state.id, ALL_ACCOUNTS),
    visible: async (q, id, access) => (await findPayment(q, id, access)) !== undefined,
  });
}
