import { assertEvent, assign, setup } from 'xstate';
import type { EventsOf } from '@tributary/runtime';
import { InventoryStatus as S } from './contract';
import { InventoryEventType as E, type InventoryEvents } from './events';

/** One unit of a product in a warehouse. */
export interface InventoryContext {
  warehouseId: string;
  productId: string;
  /** The reservation holding the unit (RESERVATION_CONNECTED) or that bought it (INVENTORY_RESERVED). */
  reservationId: string | null;
}

/** The unit's events: the union its machine folds and its commands decide. */
export type InventoryEvent = EventsOf<InventoryEvents>;

/** The reservation an event names, if it names one (guards never throw: a refusal is a `can` of false). */
const reservationOf = (event: InventoryEvent): string | undefined => ('reservationId' in event.data ? event.data.reservationId : undefined);

/**
 * The unit lifecycle. RESERVATION_PENDING means "available" (the seed's naming). Only an
 * available unit can be claimed, so no unit is ever held by two reservations; only the
 * reservation that holds a unit can sell or release it, so a late or repeated release
 * of an older reservation cannot free a unit another order has claimed since.
 */
export const inventoryMachine = setup({
  types: { context: {} as InventoryContext, events: {} as InventoryEvent },
  guards: {
    namesReservation: ({ event }) => {
      const id = reservationOf(event);
      return typeof id === 'string' && id !== '';
    },
    heldByThatReservation: ({ context, event }) => context.reservationId !== null && reservationOf(event) === context.reservationId,
  },
  actions: {
    created: assign(({ event }) => {
      assertEvent(event, E.INVENTORY_CREATED);
      return { warehouseId: event.data.warehouseId, productId: event.data.productId, reservationId: null };
    }),
    connect: assign(({ event }) => {
      assertEvent(event, E.RESERVATION_CONNECTED);
      return { reservationId: event.data.reservationId };
    }),
    detach: assign({ reservationId: null }),
  },
}).createMachine({
  id: 'inventory',
  initial: 'new',
  context: { warehouseId: '', productId: '', reservationId: null },
  states: {
    new: { on: { [E.INVENTORY_CREATED]: { target: S.INVENTORY_CREATED, actions: 'created' } } },
    [S.INVENTORY_CREATED]: { on: { [E.RESERVATION_PENDING]: S.RESERVATION_PENDING } },
    [S.RESERVATION_PENDING]: {
      on: { [E.RESERVATION_CONNECTED]: { target: S.RESERVATION_CONNECTED, guard: 'namesReservation', actions: 'connect' } },
    },
    [S.RESERVATION_CONNECTED]: {
      on: {
        [E.INVENTORY_RESERVED]: { target: S.INVENTORY_RESERVED, guard: 'heldByThatReservation' },
        [E.INVENTORY_RELEASED]: { target: S.RESERVATION_PENDING, guard: 'heldByThatReservation', actions: 'detach' },
      },
    },
    // Sold: final. A sold unit is never released.
    [S.INVENTORY_RESERVED]: { type: 'final' },
  },
});
