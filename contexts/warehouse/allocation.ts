import { createHash, randomUUID } from 'node:crypto';
import { firstInTransaction, readIn, type Causation, type ReactionContext, type Tx } from '@tributary/runtime';
import { INVENTORY, InventoryStatus, RESERVATION, ReservationStatus } from './contract';
import { lockUnitsOfOrder, reservationView, type ReservationRow, type ReservationView } from './read-model';

/*
 * The warehouse side of the order saga: choose a warehouse, claim units, record
 * reservations; release or sell an order's units. Everything runs in the consumer's
 * transaction, so the inbox row, the units' and reservations' events and the reply commit
 * together or not at all.
 */

export interface Line {
  productId: string;
  quantity: number;
}

export type ReserveOutcome =
  | { kind: 'reserved'; warehouseId: string; reservationIds: string[] }
  | { kind: 'unavailable'; reason: string };

/** What the saga handlers need of the reaction context. */
export type Step = Pick<ReactionContext, 'tx' | 'services' | 'log'> & { causation: Causation };

const RESERVATION_NAMESPACE = 'tributary/warehouse/reservation';

/**
 * The id of an order line's reservation, derived from the order and the line (a name-based
 * UUID, version 5 layout). Two deliveries of the same RESERVE_INVENTORY handled at once
 * (a partition changing owner) would create the same streams, so the second fails its
 * version check and, retried, finds the first's reservations instead of claiming more.
 */
export function reservationIdFor(orderId: string, lineNo: number): string {
  const h = createHash('sha1').update(`${RESERVATION_NAMESPACE}:${orderId}:${lineNo}`).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** Quantity wanted per product, in the order the lines name them (a product may be on several lines). */
export function wantedPerProduct(lines: Line[]): Map<string, number> {
  const wanted = new Map<string, number>();
  for (const l of lines) wanted.set(l.productId, (wanted.get(l.productId) ?? 0) + l.quantity);
  return wanted;
}

export const describeShortage = (wanted: Map<string, number>) =>
  `no warehouse has ${[...wanted].map(([p, q]) => `${q} × ${p}`).join(' and ')} available`;

/**
 * The units a consumer batch's transaction has claimed so far. A message about an order the
 * batch has not handled yet reads without first sending the batch's buffered writes
 * (`readUnflushed`, `firstInTransaction`): those are about other orders and their units, and
 * a claim leaves out the units claimed earlier in the batch (still available in the table
 * until the flush, and this transaction's own row locks do not make the claim skip them). A
 * second message about the same order (a re-sent command) reads after a flush, so it sees
 * what the first one did. This saves the warehouse's batches, the saga's slowest stage, a
 * round trip per message.
 */
const claimedIn = new WeakMap<Tx, Set<string>>();

function claimedBy(tx: Tx): Set<string> {
  let claimed = claimedIn.get(tx);
  if (!claimed) claimedIn.set(tx, (claimed = new Set()));
  return claimed;
}

const firstInBatch = (tx: Tx, orderId: string) => firstInTransaction(tx, `order:${orderId}`);

/** How many warehouses one RESERVE_INVENTORY tries before it gives up. */
const MAX_CANDIDATES = 5;

/**
 * The order's recorded reservations, or, when it has none, the warehouses that have for every
 * product at least the wanted number of available units (oldest first): what a
 * RESERVE_INVENTORY needs first, in one round trip. Each (warehouse, product) probe reads at
 * most `qty` entries of the available-units index (the qty-th one exists or not), however
 * large the stock. `claimOne`: for an order of one unit, the same statement also claims it in
 * the first candidate (as {@link claimUnits} does, from a random id up, without the
 * wrap-around), returned in `claimed`.
 */
export async function reservationsOrCandidates(
  tx: Tx,
  orderId: string,
  wanted: Map<string, number>,
  limit = MAX_CANDIDATES,
  unflushed = false,
  claimOne?: { exclude: readonly string[] },
): Promise<{ existing: ReservationView[]; candidates: string[]; claimed: string[] }> {
  const [productId] = wanted.keys();
  const { rows } = await readIn<{ rows: (ReservationRow & { candidate_ids: string[] | null; claimed: string[] | null })[] }>(tx, unflushed,
    `WITH existing AS MATERIALIZED (SELECT * FROM reservations WHERE order_id = ?),
          wanted AS (SELECT * FROM unnest(?::text[], ?::int[]) AS w(product_id, qty)),
          candidates AS (
            SELECT w.warehouse_id, w.created_at FROM warehouses w
             WHERE NOT EXISTS (SELECT 1 FROM existing)
               AND NOT EXISTS (
                 SELECT 1 FROM wanted x
                  WHERE NOT EXISTS (
                    SELECT 1 FROM inventory i
                     WHERE i.warehouse_id = w.warehouse_id AND i.product_id = x.product_id AND i.status = ?
                    OFFSET x.qty - 1 LIMIT 1))
             ORDER BY w.created_at, w.warehouse_id
             LIMIT ?)${claimOne ? `,
          claim AS (
            SELECT i.inventory_id FROM inventory i
             WHERE i.warehouse_id = (SELECT c.warehouse_id FROM candidates c ORDER BY c.created_at, c.warehouse_id LIMIT 1)
               AND i.product_id = ? AND i.status = ? AND i.inventory_id >= ? AND i.inventory_id <> ALL (?::uuid[])
             ORDER BY i.inventory_id
             LIMIT 1 FOR UPDATE SKIP LOCKED)` : ''}
     SELECT e.*, (SELECT array_agg(c.warehouse_id ORDER BY c.created_at, c.warehouse_id) FROM candidates c) AS candidate_ids,
            ${claimOne ? '(SELECT array_agg(inventory_id) FROM claim)' : 'NULL::uuid[]'} AS claimed
       FROM (VALUES (1)) AS one (x) LEFT JOIN existing e ON true
      ORDER BY e.line_no`,
    [
      orderId, [...wanted.keys()], [...wanted.values()], InventoryStatus.RESERVATION_PENDING, limit,
      ...(claimOne ? [productId, InventoryStatus.RESERVATION_PENDING, randomUUID(), claimOne.exclude] : []),
    ],
  );
  return {
    existing: rows.filter((r) => r.reservation_id !== null).map(reservationView),
    candidates: rows[0]?.candidate_ids ?? [],
    claimed: rows[0]?.claimed ?? [],
  };
}

/**
 * Locks up to `quantity` available units of a product in a warehouse. Units another
 * transaction is claiming are skipped, not waited for, so concurrent orders never block
 * each other. Units locked earlier by this same transaction are NOT skipped: `exclude` names
 * the ones claimed before (a batch's earlier messages), whose new status may not even be
 * flushed yet, since the claim does not send the buffered writes first.
 *
 * The units are taken from a random point of the available units' id order, wrapping
 * around: claims that all started at the oldest unit would each walk past every unit the
 * concurrent claims (and this transaction's earlier ones) had just taken, which are still
 * in the index until their transactions end (it was the costliest statement of an order:
 * ops/bench/README.md, "Figures behind the code"). Units of one product are
 * interchangeable, so which ones an order gets does not matter.
 */
export async function claimUnits(tx: Tx, warehouseId: string, productId: string, quantity: number, exclude: readonly string[] = []): Promise<string[]> {
  const from = randomUUID();
  const claim = async (range: string, limit: number) =>
    (
      await tx.readUnflushed<{ rows: { inventory_id: string }[] }>(
        `SELECT inventory_id FROM inventory
          WHERE warehouse_id = ? AND product_id = ? AND status = ? AND inventory_id ${range} ?
            AND inventory_id <> ALL (?::uuid[])
          ORDER BY inventory_id
          LIMIT ? FOR UPDATE SKIP LOCKED`,
        [warehouseId, productId, InventoryStatus.RESERVATION_PENDING, from, exclude, limit],
      )
    ).rows.map((r) => r.inventory_id);
  const ids = await claim('>=', quantity);
  return ids.length < quantity ? [...ids, ...(await claim('<', quantity - ids.length))] : ids;
}

/** An order of one unit: its claim gets that unit or nothing (no savepoint needed, and the search can claim it). */
const isOneUnit = (lines: Line[]) => lines.length === 1 && lines[0].quantity === 1;

/** A warehouse had fewer available units than it seemed (concurrent orders took them). */
class ShortClaim extends Error {}

/**
 * Reserves every line in one warehouse: claims all units first, and only when every product
 * got enough, connects each unit (its machine refuses a unit that is not available) and
 * records one succeeded reservation per line. An order of several units does it inside a
 * savepoint: a short claim rolls it back, releasing the row locks of the units it did get
 * (held, they would make concurrent orders skip them) and leaving nothing behind. An order
 * of one unit needs none: its claim gets that unit or nothing, and nothing is written before
 * it (two round trips and a flush fewer, in the saga's most common step).
 */
async function reserveIn(step: Step, warehouseId: string, orderId: string, lines: Line[], preclaimed: readonly string[] = []): Promise<ReserveOutcome | undefined> {
  const { actors } = step.services;
  const oneUnit = isOneUnit(lines);
  const inScope = <T>(fn: (tx: Tx) => Promise<T>) => (oneUnit ? fn(step.tx) : step.tx.transaction(fn));
  const claimed = claimedBy(step.tx);
  try {
    const outcome = await inScope(async (sp) => {
      const pool = new Map<string, string[]>();
      for (const [productId, quantity] of wantedPerProduct(lines)) {
        const ids = preclaimed.length >= quantity ? [...preclaimed] : await claimUnits(sp, warehouseId, productId, quantity, [...claimed]);
        if (ids.length < quantity) throw new ShortClaim(`${warehouseId}: ${ids.length} of ${quantity} × ${productId}`);
        pool.set(productId, ids);
      }
      const units = [...pool.values()].flat();
      const reservationIds: string[] = [];
      for (const [lineNo, line] of lines.entries()) {
        const reservationId = reservationIdFor(orderId, lineNo);
        const inventoryIds = pool.get(line.productId)!.splice(0, line.quantity);
        for (const unit of inventoryIds) {
          await actors.execute(INVENTORY, unit, 'connectReservation', { reservationId }, { tx: sp, causation: step.causation });
        }
        await actors.execute(
          RESERVATION,
          reservationId,
          'reserve',
          { orderId, lineNo, productId: line.productId, quantity: line.quantity, warehouseId, inventoryIds },
          { tx: sp, expectedVersion: 0, causation: step.causation },
        );
        reservationIds.push(reservationId);
      }
      return { kind: 'reserved' as const, warehouseId, reservationIds, units };
    });
    for (const unit of outcome.units) claimed.add(unit);
    return { kind: outcome.kind, warehouseId, reservationIds: outcome.reservationIds };
  } catch (err) {
    if (err instanceof ShortClaim) {
      step.log.debug({ orderId, shortage: err.message }, 'claim came up short; trying the next warehouse');
      return undefined;
    }
    throw err;
  }
}

/** The answer already given to an order, from its recorded reservations. */
export function outcomeOf(reservations: ReservationView[]): ReserveOutcome {
  if (reservations.every((r) => r.status === ReservationStatus.RESERVATION_SUCCEEDED)) {
    return { kind: 'reserved', warehouseId: reservations[0].warehouseId!, reservationIds: reservations.map((r) => r.reservationId) };
  }
  const failed = reservations.find((r) => r.status === ReservationStatus.RESERVATION_FAILED);
  const released = failed?.warehouseId != null;
  const reason = failed?.reason ?? 'the reservation failed';
  return { kind: 'unavailable', reason: released ? `the order's reservations were released: ${reason}` : reason };
}

/**
 * RESERVE_INVENTORY: answered from the recorded reservations when the order has some (a
 * re-sent command claims nothing more); else every line in one warehouse, or nothing.
 * An unavailable outcome is recorded too (failed reservations with the reason), so a
 * repeat answers the same even if stock arrived meanwhile.
 */
export async function reserve(step: Step, orderId: string, lines: Line[]): Promise<ReserveOutcome> {
  const wanted = wantedPerProduct(lines);
  // Unflushed, the search counts as available the units the batch claimed (it then comes up
  // short there) and not those it released: before answering "unavailable", search again
  // after the flush. An order of one unit has it claimed in the first candidate by the
  // search itself.
  const oneUnit = isOneUnit(lines);
  for (const unflushed of firstInBatch(step.tx, orderId) ? [true, false] : [false]) {
    const claimOne = oneUnit ? { exclude: [...claimedBy(step.tx)] } : undefined;
    const { existing, candidates, claimed } = await reservationsOrCandidates(step.tx, orderId, wanted, MAX_CANDIDATES, unflushed, claimOne);
    if (existing.length > 0) return outcomeOf(existing);
    for (const [i, warehouseId] of candidates.entries()) {
      const outcome = await reserveIn(step, warehouseId, orderId, lines, i === 0 ? claimed : []);
      if (outcome) return outcome;
    }
  }
  const reason = describeShortage(wanted);
  for (const [lineNo, line] of lines.entries()) {
    await step.services.actors.execute(
      RESERVATION,
      reservationIdFor(orderId, lineNo),
      'recordUnavailable',
      { orderId, lineNo, productId: line.productId, quantity: line.quantity, reason },
      { tx: step.tx, expectedVersion: 0, causation: step.causation },
    );
  }
  return { kind: 'unavailable', reason };
}

/** Every status of a reservation that still holds its units. */
const LIVE = Object.values(ReservationStatus).filter((s) => s !== ReservationStatus.RESERVATION_FAILED);

export interface ReleaseOutcome {
  released: string[];
  /** Units of the order that were already sold: they stay sold (and their reservation stands). */
  sold: string[];
}

/**
 * RELEASE_INVENTORY: every live reservation of the order fails with the reason and its
 * units become available again (INVENTORY_RELEASED). A reservation whose units are sold is
 * left alone: a sale is never undone here. Repeating it changes nothing.
 */
export async function release(step: Step, orderId: string, reason: string): Promise<ReleaseOutcome> {
  const { actors } = step.services;
  const out: ReleaseOutcome = { released: [], sold: [] };
  for (const r of await lockUnitsOfOrder(step.tx, orderId, LIVE, firstInBatch(step.tx, orderId))) {
    const sold = r.units.filter((u) => u.status === InventoryStatus.INVENTORY_RESERVED && u.reservationId === r.reservationId);
    if (sold.length > 0) {
      out.sold.push(...sold.map((u) => u.inventoryId));
      continue;
    }
    for (const u of r.units) {
      if (u.status !== InventoryStatus.RESERVATION_CONNECTED || u.reservationId !== r.reservationId) continue;
      await actors.execute(INVENTORY, u.inventoryId, 'release', { reservationId: r.reservationId }, { tx: step.tx, causation: step.causation });
      out.released.push(u.inventoryId);
    }
    await actors.execute(RESERVATION, r.reservationId, 'releaseInventory', { reason }, { tx: step.tx, causation: step.causation });
  }
  return out;
}

/**
 * COMMIT_INVENTORY: every unit of the order's succeeded reservations is sold
 * (INVENTORY_RESERVED). Units already sold are skipped, so repeating it changes nothing.
 * Returns the order's sold units.
 */
export async function commit(step: Step, orderId: string): Promise<{ sold: string[]; succeeded: number }> {
  const { actors } = step.services;
  const sold: string[] = [];
  const succeeded = await lockUnitsOfOrder(step.tx, orderId, [ReservationStatus.RESERVATION_SUCCEEDED], firstInBatch(step.tx, orderId));
  for (const r of succeeded) {
    for (const u of r.units) {
      if (u.reservationId !== r.reservationId) continue;
      if (u.status === InventoryStatus.RESERVATION_CONNECTED) {
        await actors.execute(INVENTORY, u.inventoryId, 'sell', { reservationId: r.reservationId }, { tx: step.tx, causation: step.causation });
      }
      if (u.status === InventoryStatus.RESERVATION_CONNECTED || u.status === InventoryStatus.INVENTORY_RESERVED) sold.push(u.inventoryId);
    }
  }
  return { sold, succeeded: succeeded.length };
}
