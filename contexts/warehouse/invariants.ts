import { transition, type AnyStateMachine } from 'xstate';
import type { Queryable } from '@tributary/runtime';
import { INVENTORY, InventoryStatus as U, RESERVATION, ReservationStatus as R, WAREHOUSE } from './contract';
import { InventoryEventType } from './events';
import { inventoryMachine } from './inventory.machine';
import { reservationMachine } from './reservation.machine';

/*
 * The warehouse's invariants as SQL over its read model and the event store, for the
 * operator's `npm run check` and for tests. Each check returns human-readable violations;
 * an empty list means the invariant holds.
 */

export interface InvariantOptions {
  /** How many units and reservations to fold through their machines from their events (0 = none). */
  foldSample?: number;
  /**
   * Compare read-model rows with their event logs (default true). `npm run check` turns it
   * off: the runtime's log-consistency check folds every stream of every aggregate already.
   */
  logChecks?: boolean;
}

const LIVE_UNIT = [U.RESERVATION_CONNECTED, U.INVENTORY_RESERVED];
const KNOWN_UNIT = [U.INVENTORY_CREATED, U.RESERVATION_PENDING, U.RESERVATION_CONNECTED, U.INVENTORY_RESERVED];

type Rows<T> = { rows: T[] };

/** No unit is held by two live reservations; a unit and the reservation holding it agree. */
async function noDoubleAllocation(db: Queryable): Promise<string[]> {
  const out: string[] = [];
  const twice = await db.raw<Rows<{ inventory_id: string; reservations: string[] }>>(
    `SELECT u AS inventory_id, array_agg(r.reservation_id ORDER BY r.reservation_id) AS reservations
       FROM reservations r CROSS JOIN unnest(r.inventory_ids) AS u
      WHERE r.status = ?
      GROUP BY u HAVING count(*) > 1`,
    [R.RESERVATION_SUCCEEDED],
  );
  for (const r of twice.rows) out.push(`unit ${r.inventory_id} is held by ${r.reservations.length} reservations: ${r.reservations.join(', ')}`);

  const disowned = await db.raw<Rows<{ reservation_id: string; inventory_id: string; status: string | null; held_by: string | null }>>(
    `SELECT r.reservation_id, u AS inventory_id, i.status, i.reservation_id AS held_by
       FROM reservations r CROSS JOIN unnest(r.inventory_ids) AS u
       LEFT JOIN inventory i ON i.inventory_id = u
      WHERE r.status = ? AND (i.inventory_id IS NULL OR i.reservation_id IS DISTINCT FROM r.reservation_id OR i.status <> ALL(?::text[]))`,
    [R.RESERVATION_SUCCEEDED, LIVE_UNIT],
  );
  for (const r of disowned.rows) {
    out.push(`reservation ${r.reservation_id} lists unit ${r.inventory_id}, which is ${r.status ?? 'missing'} held by ${r.held_by ?? 'no reservation'}`);
  }

  const orphans = await db.raw<Rows<{ inventory_id: string; status: string; reservation_id: string | null }>>(
    `SELECT i.inventory_id, i.status, i.reservation_id FROM inventory i
       LEFT JOIN reservations r ON r.reservation_id = i.reservation_id AND r.status = ? AND i.inventory_id = ANY(r.inventory_ids)
      WHERE i.status = ANY(?::text[]) AND r.reservation_id IS NULL`,
    [R.RESERVATION_SUCCEEDED, LIVE_UNIT],
  );
  for (const r of orphans.rows) out.push(`unit ${r.inventory_id} is ${r.status} for ${r.reservation_id ?? 'no reservation'}, which does not hold it`);

  const strays = await db.raw<Rows<{ inventory_id: string; status: string; reservation_id: string | null }>>(
    `SELECT inventory_id, status, reservation_id FROM inventory
      WHERE (status <> ALL(?::text[])) OR (status <> ALL(?::text[]) AND reservation_id IS NOT NULL)`,
    [KNOWN_UNIT, LIVE_UNIT],
  );
  for (const r of strays.rows) out.push(`unit ${r.inventory_id} has status ${r.status} with reservation ${r.reservation_id ?? 'none'}`);

  const allocations = await db.raw<Rows<{ inventory_id: string; reservation_id: string }>>(
    `SELECT a.inventory_id, a.reservation_id FROM inventory_allocations a
       LEFT JOIN reservations r ON r.reservation_id = a.reservation_id AND r.status = ? AND a.inventory_id = ANY(r.inventory_ids)
      WHERE r.reservation_id IS NULL`,
    [R.RESERVATION_SUCCEEDED],
  );
  for (const r of allocations.rows) out.push(`allocation of unit ${r.inventory_id} to ${r.reservation_id} has no live reservation behind it`);
  return out;
}

/**
 * Per product: available + reserved + sold (+ not yet available) = stocked, where stocked
 * is the number of units ever created (INVENTORY_CREATED events), and reserved + sold
 * equals the quantity of the live reservations.
 */
async function stockConserved(db: Queryable): Promise<string[]> {
  const { rows } = await db.raw<Rows<{ product_id: string; stocked: string; units: string; arriving: string; available: string; reserved: string; sold: string; reserved_by: string }>>(
    `WITH stocked AS (
       SELECT data->>'productId' AS product_id, count(*) AS n FROM events
        WHERE stream_type = ? AND type = ? GROUP BY 1),
     units AS (
       SELECT product_id, count(*) AS n,
              count(*) FILTER (WHERE status = ?) AS arriving,
              count(*) FILTER (WHERE status = ?) AS available,
              count(*) FILTER (WHERE status = ?) AS reserved,
              count(*) FILTER (WHERE status = ?) AS sold
         FROM inventory GROUP BY product_id),
     held AS (SELECT product_id, sum(quantity) AS n FROM reservations WHERE status = ? GROUP BY product_id)
     SELECT coalesce(s.product_id, u.product_id, h.product_id) AS product_id,
            coalesce(s.n, 0) AS stocked, coalesce(u.n, 0) AS units, coalesce(u.arriving, 0) AS arriving,
            coalesce(u.available, 0) AS available, coalesce(u.reserved, 0) AS reserved, coalesce(u.sold, 0) AS sold,
            coalesce(h.n, 0) AS reserved_by
       FROM stocked s FULL JOIN units u ON u.product_id = s.product_id FULL JOIN held h ON h.product_id = coalesce(s.product_id, u.product_id)
      ORDER BY 1`,
    [INVENTORY, InventoryEventType.INVENTORY_CREATED, U.INVENTORY_CREATED, U.RESERVATION_PENDING, U.RESERVATION_CONNECTED, U.INVENTORY_RESERVED, R.RESERVATION_SUCCEEDED],
  );
  const out: string[] = [];
  for (const r of rows) {
    const [stocked, units, arriving, available, reserved, sold, held] = [r.stocked, r.units, r.arriving, r.available, r.reserved, r.sold, r.reserved_by].map(Number);
    if (available + reserved + sold + arriving !== stocked || units !== stocked) {
      out.push(`${r.product_id}: available ${available} + reserved ${reserved} + sold ${sold} + not yet available ${arriving} = ${available + reserved + sold + arriving} (of ${units} units), but ${stocked} were stocked`);
    }
    if (reserved + sold !== held) out.push(`${r.product_id}: ${reserved} reserved + ${sold} sold units, but live reservations hold ${held}`);
  }
  return out;
}

/**
 * Every status change is in the log: each row's status and version are those of its
 * stream's last event (an inventory INVENTORY_RELEASED leads back to RESERVATION_PENDING;
 * every other event type of these aggregates names the status it leads to).
 */
async function readModelMatchesEvents(db: Queryable, type: string, table: string, key: string): Promise<string[]> {
  const { rows } = await db.raw<Rows<{ id: string | null; stream_id: string | null; status: string | null; version: number | null; folded: string | null; event_version: number | null }>>(
    `WITH last AS (
       SELECT DISTINCT ON (stream_id) stream_id, version, type FROM events WHERE stream_type = ? ORDER BY stream_id, version DESC)
     SELECT t.${key} AS id, l.stream_id, t.status, t.version,
            CASE l.type WHEN ? THEN ? ELSE l.type END AS folded, l.version AS event_version
       FROM ${table} t FULL JOIN last l ON l.stream_id = ? || '-' || t.${key}::text
      WHERE t.${key} IS NULL OR l.stream_id IS NULL OR t.status IS DISTINCT FROM (CASE l.type WHEN ? THEN ? ELSE l.type END) OR t.version IS DISTINCT FROM l.version`,
    [type, InventoryEventType.INVENTORY_RELEASED, U.RESERVATION_PENDING, type, InventoryEventType.INVENTORY_RELEASED, U.RESERVATION_PENDING],
  );
  return rows.map((r) =>
    r.id === null
      ? `${r.stream_id} has events but no ${table} row`
      : r.stream_id === null
        ? `${type} ${r.id} has a ${table} row but no events`
        : `${type} ${r.id} is ${r.status} v${r.version} in ${table}, but its events lead to ${r.folded} v${r.event_version}`,
  );
}

/** Folds a sample of streams through the machine itself: every event must be accepted in turn, and the result match the row. */
async function foldSample(db: Queryable, machine: AnyStateMachine, type: string, table: string, key: string, sample: number): Promise<string[]> {
  if (sample <= 0) return [];
  const { rows } = await db.raw<Rows<{ id: string; status: string; stream: { type: string; data: Record<string, unknown> }[] }>>(
    `SELECT t.${key} AS id, t.status,
            (SELECT json_agg(json_build_object('type', e.type, 'data', e.data) ORDER BY e.version) FROM events e WHERE e.stream_id = ? || '-' || t.${key}::text) AS stream
       FROM (SELECT ${key}, status FROM ${table} ORDER BY random() LIMIT ?) t`,
    [type, sample],
  );
  const out: string[] = [];
  for (const r of rows) {
    let snapshot = machine.resolveState({ value: 'new', context: machine.config.context as Record<string, unknown> });
    for (const [i, e] of (r.stream ?? []).entries()) {
      if (!snapshot.can(e)) {
        out.push(`${type} ${r.id}: event ${i + 1} (${e.type}) is not accepted in ${String(snapshot.value)}`);
        break;
      }
      [snapshot] = transition(machine, snapshot, e);
    }
    if (String(snapshot.value) !== r.status) out.push(`${type} ${r.id}: its events fold to ${String(snapshot.value)}, its row says ${r.status}`);
  }
  return out;
}

/** Every warehouse invariant; returns the violations found (empty when all hold). */
export async function checkWarehouseInvariants(db: Queryable, options: InvariantOptions = {}): Promise<string[]> {
  const sample = options.foldSample ?? 200;
  const results = [await noDoubleAllocation(db), await stockConserved(db)];
  if (options.logChecks ?? true) {
    results.push(
      await readModelMatchesEvents(db, INVENTORY, 'inventory', 'inventory_id'),
      await readModelMatchesEvents(db, RESERVATION, 'reservations', 'reservation_id'),
      await readModelMatchesEvents(db, WAREHOUSE, 'warehouses', 'warehouse_id'),
      await foldSample(db, inventoryMachine, INVENTORY, 'inventory', 'inventory_id', sample),
      await foldSample(db, reservationMachine, RESERVATION, 'reservations', 'reservation_id', sample),
    );
  }
  return results.flat();
}
