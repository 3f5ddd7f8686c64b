import { readIn, selectPage, type Change, type Queryable, type RowUpsert, type Tx } from '@tributary/runtime';
import type { InventoryStatus, ReservationStatus } from './contract';
import { ReservationEventType } from './events';
import type { InventoryContext } from './inventory.machine';
import type { ReservationContext } from './reservation.machine';
import type { Address, WarehouseContext } from './warehouse.machine';

/*
 * The warehouse context's read model, written by the projections below in the same
 * transaction as the events they follow. The claim query of the saga runs on `inventory`.
 */

export interface WarehouseView {
  warehouseId: string;
  name: string | null;
  address: Address;
  status: string;
  version: number;
  createdAt: string;
  lastModified: string;
}

export interface InventoryView {
  inventoryId: string;
  warehouseId: string;
  productId: string;
  status: InventoryStatus;
  reservationId: string | null;
  version: number;
  createdAt: string;
  lastModified: string;
}

export interface ReservationView {
  reservationId: string;
  orderId: string;
  lineNo: number;
  warehouseId: string | null;
  productId: string;
  quantity: number;
  status: ReservationStatus;
  inventoryIds: string[];
  reason: string | null;
  version: number;
  createdAt: string;
  lastModified: string;
}

interface Timestamps {
  version: number;
  created_at: Date;
  updated_at: Date;
}
interface WarehouseRow extends Timestamps {
  warehouse_id: string;
  name: string | null;
  address: Address;
  status: string;
}
interface InventoryRow extends Timestamps {
  inventory_id: string;
  warehouse_id: string;
  product_id: string;
  status: InventoryStatus;
  reservation_id: string | null;
}
export interface ReservationRow extends Timestamps {
  reservation_id: string;
  order_id: string;
  line_no: number;
  warehouse_id: string | null;
  product_id: string;
  quantity: number;
  status: ReservationStatus;
  inventory_ids: string[];
  reason: string | null;
}

const times = (r: Timestamps) => ({ version: r.version, createdAt: r.created_at.toISOString(), lastModified: r.updated_at.toISOString() });

const warehouseView = (r: WarehouseRow): WarehouseView => ({
  warehouseId: r.warehouse_id,
  name: r.name,
  address: r.address,
  status: r.status,
  ...times(r),
});

const inventoryView = (r: InventoryRow): InventoryView => ({
  inventoryId: r.inventory_id,
  warehouseId: r.warehouse_id,
  productId: r.product_id,
  status: r.status,
  reservationId: r.reservation_id,
  ...times(r),
});

export const reservationView = (r: ReservationRow): ReservationView => ({
  reservationId: r.reservation_id,
  orderId: r.order_id,
  lineNo: r.line_no,
  warehouseId: r.warehouse_id,
  productId: r.product_id,
  quantity: r.quantity,
  status: r.status,
  inventoryIds: r.inventory_ids,
  reason: r.reason,
  ...times(r),
});

// ---- projections -------------------------------------------------------------------

export async function projectWarehouse(tx: Tx, { id, after }: Change<WarehouseContext>): Promise<void> {
  await tx.raw(
    `INSERT INTO warehouses (warehouse_id, name, address, status, version) VALUES (?, ?, ?::jsonb, ?, ?)
     ON CONFLICT (warehouse_id) DO UPDATE SET name = EXCLUDED.name, address = EXCLUDED.address,
       status = EXCLUDED.status, version = EXCLUDED.version, updated_at = now()`,
    [id, after.context.name, JSON.stringify(after.context.address), after.status, after.version],
  );
}

/** The unit's row, upserted by the same statement that appends the unit's events. */
export function inventoryRow({ id, after }: Change<InventoryContext>): RowUpsert {
  const c = after.context;
  return {
    table: 'inventory',
    key: ['inventory_id'],
    values: { inventory_id: id, warehouse_id: c.warehouseId, product_id: c.productId, status: after.status, reservation_id: c.reservationId, version: after.version },
    update: ['status', 'reservation_id', 'version'],
    touch: 'updated_at',
  };
}

/** A second live reservation of a unit breaks `inventory_allocations`' key: answered with this message. */
export const ONE_RESERVATION_PER_UNIT = { inventory_allocations_pkey: 'A unit would be held by two reservations' };

/**
 * The reservation's row and, when it succeeds, one `inventory_allocations` row per unit,
 * keyed by the unit and written as new rows only (`update: 'fail'`): a unit can never be
 * taken by two live reservations even if every other check failed (the second line of
 * defence beside the unit's machine). Written with the transaction's other writes.
 */
export function reservationRows({ id, after, events }: Change<ReservationContext>): RowUpsert[] {
  const c = after.context;
  const rows: RowUpsert[] = [
    {
      table: 'reservations',
      key: ['reservation_id'],
      values: {
        reservation_id: id,
        order_id: c.orderId,
        line_no: c.lineNo,
        warehouse_id: c.warehouseId,
        product_id: c.productId,
        quantity: c.quantity,
        status: after.status,
        inventory_ids: c.inventoryIds,
        reason: c.reason,
        version: after.version,
      },
      update: ['status', 'inventory_ids', 'reason', 'version'],
      touch: 'updated_at',
    },
  ];
  if (events.some((e) => e.type === ReservationEventType.RESERVATION_SUCCEEDED)) {
    for (const unit of c.inventoryIds) {
      rows.push({ table: 'inventory_allocations', key: ['inventory_id'], values: { inventory_id: unit, reservation_id: id }, update: 'fail' });
    }
  }
  return rows;
}

/** A failed (released) reservation gives its units back. */
export async function releaseAllocations(tx: Tx, { id, events }: Change<ReservationContext>): Promise<void> {
  if (events.some((e) => e.type === ReservationEventType.RESERVATION_FAILED)) {
    await tx.raw('DELETE FROM inventory_allocations WHERE reservation_id = ?', [id]);
  }
}

// ---- queries -------------------------------------------------------------------------

export async function findWarehouse(db: Queryable, id: string): Promise<WarehouseView | undefined> {
  const { rows } = await db.raw<{ rows: WarehouseRow[] }>('SELECT * FROM warehouses WHERE warehouse_id = ?', [id]);
  return rows[0] && warehouseView(rows[0]);
}

export async function listWarehouses(db: Queryable, page: number, size: number, status?: string) {
  const filter = status ? { where: 'status = ?', params: [status] } : {};
  const { rows, total } = await selectPage<WarehouseRow>(db, { from: 'warehouses', ...filter, orderBy: 'created_at, warehouse_id' }, page, size);
  return { items: rows.map(warehouseView), total };
}

/** `column = ?` conditions for the filters that are set (column names are code, values are bound). */
function conditions(filters: Record<string, string | undefined>): { where?: string; params?: string[] } {
  const set = Object.entries(filters).filter((f): f is [string, string] => f[1] !== undefined);
  return set.length ? { where: set.map(([column]) => `${column} = ?`).join(' AND '), params: set.map(([, v]) => v) } : {};
}

/** Every unit, filtered by warehouse, product, holding reservation and status, oldest first. */
export async function listInventoryUnits(
  db: Queryable,
  filter: { warehouseId?: string; productId?: string; reservationId?: string; status?: string },
  page: number,
  size: number,
) {
  const where = conditions({ warehouse_id: filter.warehouseId, product_id: filter.productId, reservation_id: filter.reservationId, status: filter.status });
  const { rows, total } = await selectPage<InventoryRow>(db, { from: 'inventory', ...where, orderBy: 'created_at, inventory_id' }, page, size);
  return { items: rows.map(inventoryView), total };
}

/** Every reservation, filtered by order and status, oldest first. */
export async function listReservations(db: Queryable, filter: { orderId?: string; status?: string }, page: number, size: number) {
  const where = conditions({ order_id: filter.orderId, status: filter.status });
  const { rows, total } = await selectPage<ReservationRow>(db, { from: 'reservations', ...where, orderBy: 'created_at, reservation_id' }, page, size);
  return { items: rows.map(reservationView), total };
}

export async function findInventory(db: Queryable, id: string): Promise<InventoryView | undefined> {
  const { rows } = await db.raw<{ rows: InventoryRow[] }>('SELECT * FROM inventory WHERE inventory_id = ?', [id]);
  return rows[0] && inventoryView(rows[0]);
}

export async function findInventoryUnits(db: Queryable, ids: string[]): Promise<InventoryView[]> {
  const { rows } = await db.raw<{ rows: InventoryRow[] }>('SELECT * FROM inventory WHERE inventory_id = ANY(?::uuid[]) ORDER BY created_at, inventory_id', [ids]);
  return rows.map(inventoryView);
}

/** A reservation of an order with its units, as {@link lockUnitsOfOrder} returns them. */
export interface LockedReservation {
  reservationId: string;
  status: ReservationStatus;
  units: { inventoryId: string; status: InventoryStatus; reservationId: string | null }[];
}

/**
 * The order's reservations in these statuses, each with its units locked (FOR UPDATE, in
 * id order, as every locker does, so two never deadlock), in one round trip. Units of
 * reservations in other statuses are not locked: they may belong to other orders by now.
 * The unit ids go in as an array so that each is an index lookup (as a semi-join the planner
 * may hash a scan of the whole inventory). `unflushed`: without first sending the
 * transaction's buffered writes (see allocation.ts, claimedIn).
 */
export async function lockUnitsOfOrder(tx: Tx, orderId: string, statuses: readonly ReservationStatus[], unflushed = false): Promise<LockedReservation[]> {
  const { rows } = await readIn<{ rows: { reservation_id: string; status: ReservationStatus; inventory_id: string | null; unit_status: InventoryStatus | null; unit_reservation_id: string | null }[] }>(
    tx,
    unflushed,
    `WITH r AS MATERIALIZED (SELECT reservation_id, status, inventory_ids, line_no FROM reservations WHERE order_id = ? AND status = ANY(?::text[])),
          u AS MATERIALIZED (SELECT inventory_id, status, reservation_id FROM inventory
                              WHERE inventory_id = ANY (ARRAY(SELECT unnest(inventory_ids) FROM r)) ORDER BY inventory_id FOR UPDATE)
     SELECT r.reservation_id, r.status, u.inventory_id, u.status AS unit_status, u.reservation_id AS unit_reservation_id
       FROM r LEFT JOIN u ON u.inventory_id = ANY (r.inventory_ids)
      ORDER BY r.line_no, u.inventory_id`,
    [orderId, statuses],
  );
  const out: LockedReservation[] = [];
  for (const row of rows) {
    let r = out.at(-1);
    if (r?.reservationId !== row.reservation_id) out.push((r = { reservationId: row.reservation_id, status: row.status, units: [] }));
    if (row.inventory_id) r.units.push({ inventoryId: row.inventory_id, status: row.unit_status!, reservationId: row.unit_reservation_id });
  }
  return out;
}

export async function listInventory(db: Queryable, warehouseId: string, page: number, size: number) {
  const { rows, total } = await selectPage<InventoryRow>(db, { from: 'inventory', where: 'warehouse_id = ?', params: [warehouseId], orderBy: 'created_at, inventory_id' }, page, size);
  return { items: rows.map(inventoryView), total };
}

/** Units per product and status in one warehouse: `{ "SKU-1": { "RESERVATION_PENDING": 3, ... } }`. */
export async function inventoryCounts(db: Queryable, warehouseId: string): Promise<Record<string, Record<string, number>>> {
  const { rows } = await db.raw<{ rows: { product_id: string; status: string; n: string }[] }>(
    'SELECT product_id, status, count(*) AS n FROM inventory WHERE warehouse_id = ? GROUP BY product_id, status ORDER BY product_id, status',
    [warehouseId],
  );
  const counts: Record<string, Record<string, number>> = {};
  for (const r of rows) (counts[r.product_id] ??= {})[r.status] = Number(r.n);
  return counts;
}

export async function findReservation(db: Queryable, id: string): Promise<ReservationView | undefined> {
  const { rows } = await db.raw<{ rows: ReservationRow[] }>('SELECT * FROM reservations WHERE reservation_id = ?', [id]);
  return rows[0] && reservationView(rows[0]);
}

/** An order's reservations in line order. */
export async function reservationsOfOrder(db: Queryable, orderId: string): Promise<ReservationView[]> {
  const { rows } = await db.raw<{ rows: ReservationRow[] }>('SELECT * FROM reservations WHERE order_id = ? ORDER BY line_no', [orderId]);
  return rows.map(reservationView);
}
