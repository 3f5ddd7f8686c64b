import { randomUUID } from 'node:crypto';
import type Router from '@koa/router';
import { z } from 'zod';
import {
  ETAG_HEADER, HAL_JSON, NotFoundError, bodyOf, correlationOf, idParamsSchema, link, linksSchema, mountAggregateRoutes, pageQuerySchema, pageRequest,
  pagedCollection, pagedCollectionSchema, requireUuid, resource, route, statusFilterSchema, timestampSchema, validate, type Links, type RuntimeServices,
} from '@tributary/runtime';
import { INVENTORY, InventoryStatus, RESERVATION, ReservationStatus, WAREHOUSE } from './contract';
import {
  findInventory, findInventoryUnits, findReservation, findWarehouse, inventoryCounts, listInventory, listInventoryUnits, listReservations, listWarehouses,
  reservationsOfOrder, type InventoryView, type ReservationView, type WarehouseView,
} from './read-model';
import { newInventory, newWarehouse } from './schemas';
import { warehouseAggregate } from './warehouse.aggregate';
import { inventoryAggregate } from './inventory.aggregate';
import { reservationAggregate } from './reservation.aggregate';

const WAREHOUSES = '/v1/warehouses';
const UNITS = '/v1/inventory';
const RESERVATIONS = '/v1/reservations';
const ORDERS = '/v1/orders';

const aggregateLinks = (self: string): Links => ({ self: link(self), events: link(`${self}/events`), commands: link(`${self}/commands`) });

const enumOf = <T extends string>(values: Record<string, T>) => z.enum(Object.values(values) as [T, ...T[]]);

/** The warehouse resource as the API document describes it (what {@link warehouseResource} returns). */
export const warehouseResourceSchema = z
  .object({
    warehouseId: z.uuid(),
    name: z.string().nullable(),
    address: z
      .object({ street1: z.string(), street2: z.string().optional(), city: z.string(), state: z.string(), country: z.string(), zipCode: z.string() })
      .strict()
      .meta({ id: 'WarehouseAddress' }),
    status: z.string(),
    version: z.number().int().min(1),
    createdAt: timestampSchema,
    lastModified: timestampSchema,
    _links: linksSchema(['self', 'events', 'commands', 'inventory']),
  })
  .strict()
  .meta({ id: 'Warehouse' });

/** One inventory unit (what {@link inventoryResource} returns). */
export const inventoryResourceSchema = z
  .object({
    inventoryId: z.uuid(),
    warehouseId: z.uuid(),
    productId: z.string(),
    status: enumOf(InventoryStatus),
    reservationId: z.string().nullable(),
    version: z.number().int().min(1),
    createdAt: timestampSchema,
    lastModified: timestampSchema,
    _links: linksSchema(['self', 'events', 'commands', 'warehouse'], ['reservation']),
  })
  .strict()
  .meta({ id: 'InventoryUnit' });

/** One reservation: a line of an order (what {@link reservationResource} returns). */
export const reservationResourceSchema = z
  .object({
    reservationId: z.uuid(),
    orderId: z.uuid(),
    lineNo: z.number().int(),
    warehouseId: z.string().nullable(),
    productId: z.string(),
    quantity: z.number().int(),
    status: enumOf(ReservationStatus),
    inventoryIds: z.array(z.string()),
    reason: z.string().nullable(),
    version: z.number().int().min(1),
    createdAt: timestampSchema,
    lastModified: timestampSchema,
    _links: linksSchema(['self', 'events', 'commands', 'order'], ['warehouse', 'inventory']),
  })
  .strict()
  .meta({ id: 'Reservation' });

const tags = ['Warehouse'];

const uuidFilter = (what: string) => z.string().uuid(`${what} must be a UUID`).optional();
const warehouseFilter = z.object({ status: statusFilterSchema(warehouseAggregate) });
const unitFilter = z.object({
  warehouseId: uuidFilter('warehouseId').describe("Only this warehouse's units"),
  productId: z.string().min(1).max(64).optional().describe('Only units of this product'),
  reservationId: uuidFilter('reservationId').describe('Only the units this reservation holds (or bought)'),
  status: statusFilterSchema(inventoryAggregate),
});
const reservationFilter = z.object({
  orderId: uuidFilter('orderId').describe("Only this order's reservations"),
  status: statusFilterSchema(reservationAggregate),
});
const lower = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v);

export function warehouseResource(w: WarehouseView) {
  const self = `${WAREHOUSES}/${w.warehouseId}`;
  return resource(w, { ...aggregateLinks(self), inventory: link(`${self}/inventory`) });
}

export function inventoryResource(u: InventoryView) {
  const links: Links = { ...aggregateLinks(`${UNITS}/${u.inventoryId}`), warehouse: link(`${WAREHOUSES}/${u.warehouseId}`) };
  if (u.reservationId) links.reservation = link(`${RESERVATIONS}/${u.reservationId}`);
  return resource(u, links);
}

export function reservationResource(r: ReservationView) {
  const links: Links = { ...aggregateLinks(`${RESERVATIONS}/${r.reservationId}`), order: link(`${ORDERS}/${r.orderId}`) };
  if (r.warehouseId) links.warehouse = link(`${WAREHOUSES}/${r.warehouseId}`);
  if (r.inventoryIds.length) links.inventory = link(`${UNITS}?reservationId=${r.reservationId}`);
  return resource(r, links);
}

async function present<T>(find: Promise<T | undefined>, what: string, id: string): Promise<T> {
  const found = await find;
  if (!found) throw new NotFoundError(`No ${what} with id ${id}`);
  return found;
}

export function warehouseRoutes(router: Router, services: RuntimeServices): void {
  const { actors, db } = services;
  const warehouse = (id: string) => present(findWarehouse(db, id), WAREHOUSE, id);

  route(router, {
    method: 'get',
    path: WAREHOUSES,
    operationId: 'listWarehouses',
    summary: 'The warehouses, oldest first, paged (optionally those in one status)',
    tags,
    scope: 'read',
    query: pageQuerySchema.extend(warehouseFilter.shape),
    responses: { 200: { description: 'One page of warehouses', schema: pagedCollectionSchema(WAREHOUSE, warehouseResourceSchema) } },
  }, async (ctx) => {
    const page = pageRequest(ctx.query);
    const { status } = validate(warehouseFilter, { status: ctx.query.status });
    const { items, total } = await listWarehouses(db, page.page, page.size, status);
    ctx.type = HAL_JSON;
    ctx.body = pagedCollection(WAREHOUSES, WAREHOUSE, items.map(warehouseResource), page, total, { status });
  });

  route(router, {
    method: 'get',
    path: UNITS,
    operationId: 'listInventory',
    summary: 'Every inventory unit, oldest first, paged (filtered by warehouse, product, reservation, status)',
    tags,
    scope: 'read',
    query: pageQuerySchema.extend(unitFilter.shape),
    responses: { 200: { description: 'One page of units', schema: pagedCollectionSchema(INVENTORY, inventoryResourceSchema) } },
  }, async (ctx) => {
    const page = pageRequest(ctx.query);
    const q = ctx.query;
    const filter = validate(unitFilter, { warehouseId: lower(q.warehouseId), productId: q.productId, reservationId: lower(q.reservationId), status: q.status });
    const { items, total } = await listInventoryUnits(db, filter, page.page, page.size);
    ctx.type = HAL_JSON;
    ctx.body = pagedCollection(UNITS, INVENTORY, items.map(inventoryResource), page, total, filter);
  });

  route(router, {
    method: 'get',
    path: RESERVATIONS,
    operationId: 'listReservations',
    summary: 'Every reservation, oldest first, paged (filtered by order, status)',
    tags,
    scope: 'read',
    query: pageQuerySchema.extend(reservationFilter.shape),
    responses: { 200: { description: 'One page of reservations', schema: pagedCollectionSchema(RESERVATION, reservationResourceSchema) } },
  }, async (ctx) => {
    const page = pageRequest(ctx.query);
    const filter = validate(reservationFilter, { orderId: lower(ctx.query.orderId), status: ctx.query.status });
    const { items, total } = await listReservations(db, filter, page.page, page.size);
    ctx.type = HAL_JSON;
    ctx.body = pagedCollection(RESERVATIONS, RESERVATION, items.map(reservationResource), page, total, filter);
  });

  route(router, {
    method: 'post',
    path: WAREHOUSES,
    operationId: 'createWarehouse',
    summary: 'Creates a warehouse',
    tags,
    scope: 'write',
    body: newWarehouse,
    responses: { 201: { description: 'The new warehouse', schema: warehouseResourceSchema, headers: { Location: "The new warehouse's URL" } } },
  }, async (ctx) => {
    const id = randomUUID();
    await actors.execute(WAREHOUSE, id, 'create', bodyOf(ctx), { expectedVersion: 0, causation: correlationOf(ctx) });
    ctx.status = 201;
    ctx.set('Location', `${WAREHOUSES}/${id}`);
    ctx.type = HAL_JSON;
    ctx.body = warehouseResource(await warehouse(id));
  });

  route(router, {
    method: 'get',
    path: `${WAREHOUSES}/:id`,
    operationId: 'getWarehouse',
    summary: 'One warehouse',
    tags,
    scope: 'read',
    params: idParamsSchema,
    responses: { 200: { description: 'The warehouse', schema: warehouseResourceSchema, headers: ETAG_HEADER }, 404: { description: 'No warehouse with that id' } },
  }, async (ctx) => {
    const w = await warehouse(requireUuid(ctx.params.id, WAREHOUSE));
    ctx.type = HAL_JSON;
    ctx.set('ETag', `"${w.version}"`);
    ctx.body = warehouseResource(w);
  });

  // The warehouse's units, paged, with counts per product and status over all of them.
  route(router, {
    method: 'get',
    path: `${WAREHOUSES}/:id/inventory`,
    operationId: 'listWarehouseInventory',
    summary: "A warehouse's inventory units, paged, with counts per product and status over all of them",
    tags,
    scope: 'read',
    params: idParamsSchema,
    query: pageQuerySchema,
    responses: {
      200: {
        description: 'One page of units, and the counts',
        schema: pagedCollectionSchema(INVENTORY, inventoryResourceSchema, {
          extraLinks: ['warehouse'],
          extra: { counts: z.record(z.string(), z.record(z.string(), z.number().int())).describe('productId → status → number of units') },
        }),
      },
      404: { description: 'No warehouse with that id' },
    },
  }, async (ctx) => {
    const id = requireUuid(ctx.params.id, WAREHOUSE);
    const page = pageRequest(ctx.query);
    await warehouse(id);
    const [{ items, total }, counts] = await Promise.all([listInventory(db, id, page.page, page.size), inventoryCounts(db, id)]);
    const body = pagedCollection(`${WAREHOUSES}/${id}/inventory`, INVENTORY, items.map(inventoryResource), page, total);
    body._links.warehouse = link(`${WAREHOUSES}/${id}`);
    ctx.type = HAL_JSON;
    ctx.body = { counts, ...body };
  });

  // `quantity` units of one product in one transaction: all of them or none.
  route(router, {
    method: 'post',
    path: `${WAREHOUSES}/:id/inventory`,
    operationId: 'addInventory',
    summary: 'Adds `quantity` units of one product to a warehouse, all or none',
    tags,
    scope: 'write',
    params: idParamsSchema,
    body: newInventory,
    responses: {
      201: {
        description: 'The units added',
        schema: z
          .object({
            warehouseId: z.uuid(),
            productId: z.string(),
            quantity: z.number().int(),
            inventoryIds: z.array(z.uuid()),
            _links: linksSchema(['self', 'warehouse']),
            _embedded: z.object({ inventoryList: z.array(inventoryResourceSchema) }).strict(),
          })
          .strict(),
      },
      404: { description: 'No warehouse with that id' },
    },
  }, async (ctx) => {
    const warehouseId = requireUuid(ctx.params.id, WAREHOUSE);
    const { productId, quantity } = validate(newInventory, bodyOf(ctx));
    const causation = correlationOf(ctx);
    const ids = Array.from({ length: quantity }, () => randomUUID());
    await db.transaction(async (tx) => {
      if (!(await findWarehouse(tx, warehouseId))) throw new NotFoundError(`No warehouse with id ${warehouseId}`);
      for (const id of ids) await actors.execute(INVENTORY, id, 'create', { warehouseId, productId }, { tx, expectedVersion: 0, causation });
    });
    const units = await findInventoryUnits(db, ids);
    ctx.status = 201;
    ctx.type = HAL_JSON;
    ctx.body = resource(
      { warehouseId, productId, quantity, inventoryIds: ids },
      { self: link(`${WAREHOUSES}/${warehouseId}/inventory`), warehouse: link(`${WAREHOUSES}/${warehouseId}`) },
      { inventoryList: units.map(inventoryResource) },
    );
  });

  route(router, {
    method: 'get',
    path: `${UNITS}/:id`,
    operationId: 'getInventoryUnit',
    summary: 'One inventory unit',
    tags,
    scope: 'read',
    params: idParamsSchema,
    responses: { 200: { description: 'The unit', schema: inventoryResourceSchema, headers: ETAG_HEADER }, 404: { description: 'No inventory unit with that id' } },
  }, async (ctx) => {
    const id = requireUuid(ctx.params.id, INVENTORY);
    const u = await present(findInventory(db, id), INVENTORY, id);
    ctx.type = HAL_JSON;
    ctx.set('ETag', `"${u.version}"`);
    ctx.body = inventoryResource(u);
  });

  route(router, {
    method: 'get',
    path: `${RESERVATIONS}/:id`,
    operationId: 'getReservation',
    summary: 'One reservation',
    tags,
    scope: 'read',
    params: idParamsSchema,
    responses: { 200: { description: 'The reservation', schema: reservationResourceSchema, headers: ETAG_HEADER }, 404: { description: 'No reservation with that id' } },
  }, async (ctx) => {
    const id = requireUuid(ctx.params.id, RESERVATION);
    const r = await present(findReservation(db, id), RESERVATION, id);
    ctx.type = HAL_JSON;
    ctx.set('ETag', `"${r.version}"`);
    ctx.body = reservationResource(r);
  });

  // An order's reservations (one per line); empty until the saga asks for them.
  route(router, {
    method: 'get',
    path: `${ORDERS}/:id/reservations`,
    operationId: 'listOrderReservations',
    summary: "An order's reservations, one per line; empty until the saga asks for them",
    tags,
    scope: 'read',
    params: idParamsSchema,
    responses: {
      200: {
        description: "The order's reservations",
        schema: z
          .object({
            orderId: z.uuid(),
            _links: linksSchema(['self', 'order']),
            _embedded: z.object({ reservationList: z.array(reservationResourceSchema) }).strict(),
          })
          .strict(),
      },
    },
  }, async (ctx) => {
    const orderId = requireUuid(ctx.params.id, 'order');
    const reservations = await reservationsOfOrder(db, orderId);
    ctx.type = HAL_JSON;
    ctx.body = resource(
      { orderId },
      { self: link(`${ORDERS}/${orderId}/reservations`), order: link(`${ORDERS}/${orderId}`) },
      { reservationList: reservations.map(reservationResource) },
    );
  });

  mountAggregateRoutes(router, services, { basePath: WAREHOUSES, aggregate: WAREHOUSE, schema: warehouseResourceSchema, present: async (s, _s, q) => warehouseResource(await present(findWarehouse(q, s.id), WAREHOUSE, s.id)) });
  mountAggregateRoutes(router, services, {
    basePath: UNITS,
    aggregate: INVENTORY,
    schema: inventoryResourceSchema,
    present: async (s, _s, q) => inventoryResource(await present(findInventory(q, s.id), INVENTORY, s.id)),
  });
  mountAggregateRoutes(router, services, {
    basePath: RESERVATIONS,
    aggregate: RESERVATION,
    schema: reservationResourceSchema,
    present: async (s, _s, q) => reservationResource(await present(findReservation(q, s.id), RESERVATION, s.id)),
  });
}
