import type Router from '@koa/router';
import { z } from 'zod';
import {
  HAL_JSON, NotFoundError, link, linksSchema, pageQuerySchema, pageRequest, pagedCollection, pagedCollectionSchema, requireUuid, resource, route, timestampSchema,
  type RuntimeServices,
} from '@tributary/runtime';
import { SHIPMENT, SHIPMENTS_PATH, type ShipmentView } from './contract';
import { findShipment, listShipments } from './read-model';

/** A shipment as the API document describes it (what {@link shipmentResource} returns). */
const shipmentSchema = z
  .object({
    shipmentId: z.uuid(),
    orderId: z.uuid(),
    status: z.literal('SHIPMENT_REQUESTED'),
    accountId: z.uuid().nullable(),
    shippingAddress: z
      .object({ street1: z.string(), street2: z.string().optional(), city: z.string(), state: z.string(), country: z.string(), zipCode: z.string() })
      .nullable()
      .describe("The order's shipping address (null for an order whose event predates it)"),
    units: z.number().int().nullable().describe('Units to ship: the sum of the line quantities'),
    total: z.number().nullable().describe("The order's total"),
    createdAt: timestampSchema,
    _links: linksSchema(['self', 'order']),
  })
  .strict()
  .meta({ id: 'Shipment' });

const shipmentResource = (s: ShipmentView) => resource(s, { self: link(`${SHIPMENTS_PATH}/${s.orderId}`), order: link(`/v1/orders/${s.orderId}`) });

const tags = ['Shipping'];

/** `GET /v1/shipments` (paged) and `GET /v1/shipments/:orderId` (an order's shipment). */
export function shippingRoutes(router: Router, { db }: RuntimeServices): void {
  route(router, {
    method: 'get',
    path: SHIPMENTS_PATH,
    operationId: 'listShipments',
    summary: 'The shipments, oldest first, paged',
    tags,
    scope: 'read',
    query: pageQuerySchema,
    responses: { 200: { description: 'One page of shipments', schema: pagedCollectionSchema(SHIPMENT, shipmentSchema) } },
  }, async (ctx) => {
    const page = pageRequest(ctx.query);
    const { items, total } = await listShipments(db, page.page, page.size);
    ctx.type = HAL_JSON;
    ctx.body = pagedCollection(SHIPMENTS_PATH, SHIPMENT, items.map(shipmentResource), page, total);
  });

  route(router, {
    method: 'get',
    path: `${SHIPMENTS_PATH}/:orderId`,
    operationId: 'getShipment',
    summary: "An order's shipment",
    tags,
    scope: 'read',
    params: z.object({ orderId: z.string().describe('The order id (a UUID)') }),
    responses: { 200: { description: 'The shipment', schema: shipmentSchema }, 404: { description: 'The order has no shipment (yet)' } },
  }, async (ctx) => {
    const orderId = requireUuid(ctx.params.orderId, 'order');
    const shipment = await findShipment(db, orderId);
    if (!shipment) throw new NotFoundError(`No shipment for order ${orderId}`);
    ctx.type = HAL_JSON;
    ctx.body = shipmentResource(shipment);
  });
}
