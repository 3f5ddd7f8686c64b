import { assign, setup } from 'xstate';
import { ReservationStatus as S } from './contract';
import { ReservationEventType as E } from './events';

/** One order line reserved in one warehouse: `quantity` units of `productId`. */
export interface ReservationContext {
  orderId: string;
  /** Index of the order line (0-based) this reservation is for. */
  lineNo: number;
  productId: string;
  quantity: number;
  /** The warehouse that holds its units; null when no warehouse had the stock. */
  warehouseId: string | null;
  inventoryIds: string[];
  /** Why it failed (out of stock, or released by the order's compensation). */
  reason: string | null;
}

type Data = Record<string, unknown>;
export type ReservationMachineEvent = { type: (typeof E)[keyof typeof E]; data: Data };

const dataOf = (event: ReservationMachineEvent): Data => event.data ?? {};

/**
 * The reservation lifecycle: created, then either succeeded (it holds exactly `quantity`
 * distinct units of its warehouse) or failed; a succeeded reservation fails when it is released. A failed
 * reservation is final, so a repeated release changes nothing.
 */
export const reservationMachine = setup({
  types: { context: {} as ReservationContext, events: {} as ReservationMachineEvent },
  guards: {
    holdsItsQuantity: ({ context, event }) => {
      const ids = dataOf(event).inventoryIds;
      return context.warehouseId !== null && Array.isArray(ids) && ids.length === context.quantity && new Set(ids).size === ids.length;
    },
  },
  actions: {
    created: assign(({ event }) => {
      const d = dataOf(event);
      return {
        orderId: d.orderId as string,
        lineNo: d.lineNo as number,
        productId: d.productId as string,
        quantity: d.quantity as number,
        warehouseId: (d.warehouseId as string | null | undefined) ?? null,
        inventoryIds: [],
        reason: null,
      };
    }),
    succeeded: assign(({ event }) => ({ inventoryIds: dataOf(event).inventoryIds as string[] })),
    failed: assign(({ event }) => ({ reason: (dataOf(event).reason as string | undefined) ?? null })),
  },
}).createMachine({
  id: 'reservation',
  initial: 'new',
  context: { orderId: '', lineNo: 0, productId: '', quantity: 0, warehouseId: null, inventoryIds: [], reason: null },
  states: {
    new: { on: { [E.RESERVATION_CREATED]: { target: S.RESERVATION_CREATED, actions: 'created' } } },
    [S.RESERVATION_CREATED]: {
      on: {
        [E.RESERVATION_SUCCEEDED]: { target: S.RESERVATION_SUCCEEDED, guard: 'holdsItsQuantity', actions: 'succeeded' },
        [E.RESERVATION_FAILED]: { target: S.RESERVATION_FAILED, actions: 'failed' },
      },
    },
    [S.RESERVATION_SUCCEEDED]: { on: { [E.RESERVATION_FAILED]: { target: S.RESERVATION_FAILED, actions: 'failed' } } },
    [S.RESERVATION_FAILED]: { type: 'final' },
  },
});
