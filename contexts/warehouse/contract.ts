/**
 * The warehouse context's published language (aggregates Warehouse, Inventory, Reservation).
 *
 * Commands from an order's saga arrive on `warehouse.commands`, addressed to the order
 * actor (`{ type: 'order', id: orderId }`) so one order's commands stay in order. Each is
 * idempotent: sending it again (a saga step re-sent after its deadline) changes nothing
 * more and is answered again with the same reply on `orders.commands`.
 */
import { z } from 'zod';
import { defineTopic } from '@tributary/runtime';

export const WAREHOUSE = 'warehouse';

/** Longest product id (SKU) anywhere: order lines, inventory units, reservations. */
export const PRODUCT_ID_MAX = 100;

/**
 * A product id (SKU), the one rule for every context that names products: a non-blank string
 * of at most {@link PRODUCT_ID_MAX} characters, trimmed. Blankness is a pattern checked before
 * the trim, so that the API document (which cannot trim) refuses it too.
 */
export const productIdSchema = z
  .string({ error: (i) => (i.input === undefined ? 'productId is required' : 'productId must be a string') })
  .regex(/\S/, 'productId is required')
  .trim()
  .max(PRODUCT_ID_MAX, `productId must be at most ${PRODUCT_ID_MAX} characters`);
export const INVENTORY = 'inventory';
export const RESERVATION = 'reservation';
export const WAREHOUSES_TOPIC = 'warehouses';
export const INVENTORY_TOPIC = 'inventory';
export const RESERVATIONS_TOPIC = 'reservations';
export const WAREHOUSE_COMMANDS_TOPIC = 'warehouse.commands';

export const WarehouseCommand = {
  /** Reserve every line in ONE warehouse that has enough available units, or nothing. Reply INVENTORY_RESERVED | INVENTORY_UNAVAILABLE. */
  RESERVE_INVENTORY: 'RESERVE_INVENTORY',
  /** Release the order's reservations (units back to available). Reply INVENTORY_RELEASED (also when there was nothing to release). */
  RELEASE_INVENTORY: 'RELEASE_INVENTORY',
  /** Mark the order's reserved units sold. Reply INVENTORY_COMMITTED. */
  COMMIT_INVENTORY: 'COMMIT_INVENTORY',
} as const;
export type WarehouseCommand = (typeof WarehouseCommand)[keyof typeof WarehouseCommand];

export interface ReserveInventoryData {
  orderId: string;
  lines: { productId: string; quantity: number }[];
}
export interface ReleaseInventoryData {
  orderId: string;
  reason: string;
}
export interface CommitInventoryData {
  orderId: string;
}

/** What an order's saga sends the warehouse on {@link WAREHOUSE_COMMANDS_TOPIC}. */
export interface WarehouseCommands {
  RESERVE_INVENTORY: ReserveInventoryData;
  RELEASE_INVENTORY: ReleaseInventoryData;
  COMMIT_INVENTORY: CommitInventoryData;
}

/** The warehouse command topic, typed. */
export const warehouseCommandsTopic = defineTopic<WarehouseCommands>(WAREHOUSE_COMMANDS_TOPIC);

/** The seed's statuses. RESERVATION_PENDING means "available" for a unit. */
export const InventoryStatus = {
  INVENTORY_CREATED: 'INVENTORY_CREATED',
  RESERVATION_PENDING: 'RESERVATION_PENDING',
  RESERVATION_CONNECTED: 'RESERVATION_CONNECTED',
  INVENTORY_RESERVED: 'INVENTORY_RESERVED',
  INVENTORY_RELEASED: 'INVENTORY_RELEASED',
} as const;
export type InventoryStatus = (typeof InventoryStatus)[keyof typeof InventoryStatus];

export const ReservationStatus = {
  RESERVATION_CREATED: 'RESERVATION_CREATED',
  RESERVATION_PENDING: 'RESERVATION_PENDING',
  INVENTORY_CONNECTED: 'INVENTORY_CONNECTED',
  ORDER_CONNECTED: 'ORDER_CONNECTED',
  RESERVATION_SUCCEEDED: 'RESERVATION_SUCCEEDED',
  RESERVATION_FAILED: 'RESERVATION_FAILED',
} as const;
export type ReservationStatus = (typeof ReservationStatus)[keyof typeof ReservationStatus];
