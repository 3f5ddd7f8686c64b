import { assign, setup } from 'xstate';
import { InventoryStatus as S } from './contract';
import { InventoryEventType as E } from './events';

/** One unit of a product in a warehouse. */
export interface InventoryContext {
  warehouseId: string;
  productId: string;
  /** The reservation holding the unit (RESERVATION_CONNECTED) or that bought it (INVENTORY_RESERVED). */
  reservationId: string | null;
}

type Data = Record<string, unknown>;
export type InventoryMachineEvent = { type: (typeof E)[keyof typeof E]; data: Data };

const dataOf = (event: InventoryMachineEvent): Data => event.data ?? {};

/**
 * The unit lifecycle. RESERVATION_PENDING means "available" (the seed's naming). Only an
 * available unit can be claimed, so no unit is ever held by two reservations; only the
 * reservation that holds a unit can sell or release it, so a late or repeated release
 * of an older reservation cannot free a unit another order has claimed since.
 */
export const inventoryMachine = setup({
  types: { context: {} as InventoryContext, events: {} as InventoryMachineEvent },
  guards: {
    namesReservation: ({ event }) => typeof dataOf(event).reservationId === 'string' && dataOf(event).reservationId !== '',
    heldByThatReservation: ({ context, event }) => context.reservationId !== null && dataOf(event).reservationId === context.reservationId,
  },
  actions: {
    created: assign(({ event }) => ({
      warehouseId: dataOf(event).warehouseId as string,
      productId: dataOf(event).productId as string,
      reservationId: null,
    })),
    connect: assign(({ event }) => ({ reservationId: dataOf(event).reservationId as string })),
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
