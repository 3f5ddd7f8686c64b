import { assertEvent, assign, setup } from 'xstate';
import type { EventsOf } from '@tributary/runtime';
import { ReservationStatus as S } from './contract';
import { ReservationEventType as E, type ReservationEvents } from './events';

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

/** The reservation's events: the union its machine folds and its commands decide. */
export type ReservationEvent = EventsOf<ReservationEvents>;

/**
 * The reservation lifecycle: created, then either succeeded (it holds exactly `quantity`
 * distinct units of its warehouse) or failed; a succeeded reservation fails when it is released. A failed
 * reservation is final, so a repeated release changes nothing.
 */
export const reservationMachine = setup({
  types: { context: {} as ReservationContext, events: {} as ReservationEvent },
  guards: {
    holdsItsQuantity: ({ context, event }) => {
      // A guard never throws (a refusal is a `can` of false): the data is checked, not asserted.
      const ids: unknown = 'inventoryIds' in event.data ? event.data.inventoryIds : undefined;
      return context.warehouseId !== null && Array.isArray(ids) && ids.length === context.quantity && new Set(ids).size === ids.length;
    },
  },
  actions: {
    created: assign(({ event }) => {
      assertEvent(event, E.RESERVATION_CREATED);
      const d = event.data;
      return {
        orderId: d.orderId,
        lineNo: d.lineNo,
        productId: d.productId,
        quantity: d.quantity,
        warehouseId: d.warehouseId ?? null,
        inventoryIds: [],
        reason: null,
      };
    }),
    succeeded: assign(({ event }) => {
      assertEvent(event, E.RESERVATION_SUCCEEDED);
      return { inventoryIds: event.data.inventoryIds };
    }),
    failed: assign(({ event }) => {
      assertEvent(event, E.RESERVATION_FAILED);
      return { reason: event.data.reason ?? null };
    }),
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
