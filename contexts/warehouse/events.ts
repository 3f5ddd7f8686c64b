/**
 * Event types of the warehouse context's aggregates: the seed's names. A unit's and a
 * reservation's statuses are the contract's; these are the transitions between them.
 */
export const WarehouseEventType = {
  /** The seed declared it but never emitted it; here creating a warehouse is an event. */
  WAREHOUSE_CREATED: 'WAREHOUSE_CREATED',
} as const;

export const InventoryEventType = {
  INVENTORY_CREATED: 'INVENTORY_CREATED',
  /** The unit is available (the seed's worker set this status without an event). */
  RESERVATION_PENDING: 'RESERVATION_PENDING',
  /** The unit is claimed by a reservation. */
  RESERVATION_CONNECTED: 'RESERVATION_CONNECTED',
  /** The unit is sold (its order succeeded); final. */
  INVENTORY_RESERVED: 'INVENTORY_RESERVED',
  /** The unit is available again: its reservation was released. */
  INVENTORY_RELEASED: 'INVENTORY_RELEASED',
} as const;

export const ReservationEventType = {
  RESERVATION_CREATED: 'RESERVATION_CREATED',
  RESERVATION_SUCCEEDED: 'RESERVATION_SUCCEEDED',
  RESERVATION_FAILED: 'RESERVATION_FAILED',
} as const;

/** The one warehouse status (the seed's). */
export const WarehouseStatus = { WAREHOUSE_CREATED: 'WAREHOUSE_CREATED' } as const;

/** The inventory unit's events: event type → payload (published on `inventory`). */
export interface InventoryEvents {
  INVENTORY_CREATED: { warehouseId: string; productId: string };
  RESERVATION_PENDING: Record<string, never>;
  RESERVATION_CONNECTED: { reservationId: string };
  INVENTORY_RESERVED: { reservationId: string };
  INVENTORY_RELEASED: { reservationId: string };
}

/** The reservation's events: event type → payload (published on `reservations`). */
export interface ReservationEvents {
  /** `warehouseId` null: no warehouse had the stock (the reservation fails at once). */
  RESERVATION_CREATED: { orderId: string; lineNo: number; productId: string; quantity: number; warehouseId: string | null };
  RESERVATION_SUCCEEDED: { inventoryIds: string[] };
  RESERVATION_FAILED: { reason: string };
}
