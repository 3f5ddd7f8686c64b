import type Router from '@koa/router';
import { z } from 'zod';
import {
  HAL_JSON, NotFoundError, link, mountAggregateRoutes, pageRequest, pagedCollection, requireUuid, resource, validate,
  type Queryable, type RuntimeServices,
} from '../../runtime';
import { PAYMENT } from './contract';
import { findPayment, listPayments, type PaymentView } from './read-model';

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

async function presentPayment(q: Queryable, id: string) {
  const payment = await findPayment(q, id);
  if (!payment) throw new NotFoundError(`No payment with id ${id}`);
  return paymentResource(payment);
}

const filter = z.object({ orderId: z.string().uuid('orderId must be a UUID').optional() });

/**
 * Read-only over HTTP: payments are created, charged and cancelled by the order's saga
 * (payments.commands) and the charge job, so no command is public and the commands
 * resource lists none.
 */
export function paymentRoutes(router: Router, services: RuntimeServices): void {
  router.get(BASE, async (ctx) => {
    const page = pageRequest(ctx.query);
    const { orderId } = validate(filter, { orderId: typeof ctx.query.orderId === 'string' ? ctx.query.orderId.toLowerCase() : ctx.query.orderId });
    const { items, total } = await listPayments(services.db, { orderId }, page.page, page.size);
    ctx.type = HAL_JSON;
    ctx.body = pagedCollection(BASE, PAYMENT, items.map(paymentResource), page, total, { orderId });
  });

  router.get(`${BASE}/:id`, async (ctx) => {
    const id = requireUuid(ctx.params.id, PAYMENT);
    const body = await presentPayment(services.db, id);
    ctx.type = HAL_JSON;
    ctx.set('ETag', `"${body.version}"`);
    ctx.body = body;
  });

  mountAggregateRoutes(router, services, {
    basePath: BASE,
    aggregate: PAYMENT,
    present: (state, _s, q) => presentPayment(q, state.id),
  });
}
