import { randomUUID } from 'node:crypto';
import type Router from '@koa/router';
import {
  HAL_JSON, NotFoundError, bodyOf, correlationOf, link, mountAggregateRoutes, pageRequest, pagedCollection, requireUuid,
  resource, validate, type Links, type RuntimeServices,
} from '../../runtime';
import { INVENTORY, RESERVATION, WAREHOUSE } from './contract';
import {
  findInventory, findInventoryUnits, findReservation, findWarehouse, inventoryCounts, listInventory, listWarehouses,
  reservationsOfOrder, type InventoryView, type ReservationView, type WarehouseView,
} from './read-model';
import { newInventory } from './schemas';

const WAREHOUSES = '/v1/warehouses';
const UNITS = '/v1/inventory';
const RESERVATIONS = '/v1/reservations';
const ORDERS = '/v1/orders';

const aggregateLinks = (self: string): Links => ({ self: link(self), events: link(`${self}/events`), commands: link(`${self}/commands`) });

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

  router.get(WAREHOUSES, async (ctx) => {
    const page = pageRequest(ctx.query);
    const { items, total } = await listWarehouses(db, page.page, page.size);
    ctx.type = HAL_JSON;
    ctx.body = pagedCollection(WAREHOUSES, WAREHOUSE, items.map(warehouseResource), page, total);
  });

  router.post(WAREHOUSES, async (ctx) => {
    const id = randomUUID();
    await actors.execute(WAREHOUSE, id, 'create', bodyOf(ctx), { expectedVersion: 0, causation: correlationOf(ctx) });
    ctx.status = 201;
    ctx.set('Location', `${WAREHOUSES}/${id}`);
    ctx.type = HAL_JSON;
    ctx.body = warehouseResource(await warehouse(id));
  });

  router.get(`${WAREHOUSES}/:id`, async (ctx) => {
    const w = await warehouse(requireUuid(ctx.params.id, WAREHOUSE));
    ctx.type = HAL_JSON;
    ctx.set('ETag', `"${w.version}"`);
    ctx.body = warehouseResource(w);
  });

  // The warehouse's units, paged, with counts per product and status over all of them.
  router.get(`${WAREHOUSES}/:id/inventory`, async (ctx) => {
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
  router.post(`${WAREHOUSES}/:id/inventory`, async (ctx) => {
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

  router.get(`${UNITS}/:id`, async (ctx) => {
    const id = requireUuid(ctx.params.id, INVENTORY);
    const u = await present(findInventory(db, id), INVENTORY, id);
    ctx.type = HAL_JSON;
    ctx.set('ETag', `"${u.version}"`);
    ctx.body = inventoryResource(u);
  });

  router.get(`${RESERVATIONS}/:id`, async (ctx) => {
    const id = requireUuid(ctx.params.id, RESERVATION);
    const r = await present(findReservation(db, id), RESERVATION, id);
    ctx.type = HAL_JSON;
    ctx.set('ETag', `"${r.version}"`);
    ctx.body = reservationResource(r);
  });

  // An order's reservations (one per line); empty until the saga asks for them.
  router.get(`${ORDERS}/:id/reservations`, async (ctx) => {
    const orderId = requireUuid(ctx.params.id, 'order');
    const reservations = await reservationsOfOrder(db, orderId);
    ctx.type = HAL_JSON;
    ctx.body = resource(
      { orderId },
      { self: link(`${ORDERS}/${orderId}/reservations`), order: link(`${ORDERS}/${orderId}`) },
      { reservationList: reservations.map(reservationResource) },
    );
  });

  mountAggregateRoutes(router, services, { basePath: WAREHOUSES, aggregate: WAREHOUSE, present: async (s, _s, q) => warehouseResource(await present(findWarehouse(q, s.id), WAREHOUSE, s.id)) });
  mountAggregateRoutes(router, services, {
    basePath: UNITS,
    aggregate: INVENTORY,
    present: async (s, _s, q) => inventoryResource(await present(findInventory(q, s.id), INVENTORY, s.id)),
  });
  mountAggregateRoutes(router, services, {
    basePath: RESERVATIONS,
    aggregate: RESERVATION,
    present: async (s, _s, q) => reservationResource(await present(findReservation(q, s.id), RESERVATION, s.id)),
  });
}
