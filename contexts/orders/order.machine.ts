import { assertEvent, assign, setup } from 'xstate';
import type { EventsOf } from '@tributary/runtime';
import { OrderStatus as S, type LineItem, type OrderEvents, type ShippingAddress } from './contract';

export type { ShippingAddress } from './contract';

export interface OrderContext {
  accountId: string;
  lineItems: LineItem[];
  shippingAddress: ShippingAddress | null;
  /** Σ (price + tax) × quantity, in cents. */
  totalCents: number;
  warehouseId: string | null;
  reservationIds: string[];
  paymentId: string | null;
  failureReason: string | null;
}

/** The order's event types: the seed's names. */
export const OrderEventType = {
  ORDER_CREATED: 'ORDER_CREATED',
  ACCOUNT_CONNECTED: 'ACCOUNT_CONNECTED',
  RESERVATION_PENDING: 'RESERVATION_PENDING',
  RESERVATION_ADDED: 'RESERVATION_ADDED',
  RESERVATION_SUCCEEDED: 'RESERVATION_SUCCEEDED',
  RESERVATION_FAILED: 'RESERVATION_FAILED',
  PAYMENT_CREATED: 'PAYMENT_CREATED',
  PAYMENT_CONNECTED: 'PAYMENT_CONNECTED',
  PAYMENT_PENDING: 'PAYMENT_PENDING',
  PAYMENT_SUCCEEDED: 'PAYMENT_SUCCEEDED',
  PAYMENT_FAILED: 'PAYMENT_FAILED',
  ORDER_SUCCEEDED: 'ORDER_SUCCEEDED',
  ORDER_FAILED: 'ORDER_FAILED',
} as const;
const E = OrderEventType;

/** The order's events: the union its machine folds, its commands decide and its projection sees. */
export type OrderEvent = EventsOf<OrderEvents>;

/**
 * The order lifecycle and saga states. Every path ends in ORDER_SUCCEEDED or ORDER_FAILED;
 * RESERVATION_FAILED and PAYMENT_FAILED are the compensating states (inventory is being
 * released) that the seed could enter but never leave.
 */
export const orderMachine = setup({
  types: { context: {} as OrderContext, events: {} as OrderEvent },
  // Each action is bound to one event type below; assertEvent narrows the union to it.
  actions: {
    created: assign(({ event }) => {
      assertEvent(event, E.ORDER_CREATED);
      const x = event.data;
      return { accountId: x.accountId, lineItems: x.lineItems, shippingAddress: x.shippingAddress, totalCents: x.totalCents };
    }),
    addReservation: assign(({ context, event }) => {
      assertEvent(event, E.RESERVATION_ADDED);
      return { reservationIds: [...context.reservationIds, event.data.reservationId] };
    }),
    reserved: assign(({ event }) => {
      assertEvent(event, E.RESERVATION_SUCCEEDED);
      return { warehouseId: event.data.warehouseId };
    }),
    paymentCreated: assign(({ event }) => {
      assertEvent(event, E.PAYMENT_CREATED);
      return { paymentId: event.data.paymentId };
    }),
    failed: assign(({ event }) => {
      assertEvent(event, [E.ORDER_FAILED, E.RESERVATION_FAILED, E.PAYMENT_FAILED]);
      return { failureReason: event.data.reason };
    }),
  },
}).createMachine({
  id: 'order',
  initial: 'new',
  context: {
    accountId: '',
    lineItems: [],
    shippingAddress: null,
    totalCents: 0,
    warehouseId: null,
    reservationIds: [],
    paymentId: null,
    failureReason: null,
  },
  states: {
    new: { on: { [E.ORDER_CREATED]: { target: S.ORDER_CREATED, actions: 'created' } } },
    [S.ORDER_CREATED]: {
      on: {
        [E.ACCOUNT_CONNECTED]: S.ACCOUNT_CONNECTED,
        [E.ORDER_FAILED]: { target: S.ORDER_FAILED, actions: 'failed' },
      },
    },
    [S.ACCOUNT_CONNECTED]: { on: { [E.RESERVATION_PENDING]: S.RESERVATION_PENDING } },
    [S.RESERVATION_PENDING]: {
      on: {
        [E.RESERVATION_ADDED]: { actions: 'addReservation' },
        [E.RESERVATION_SUCCEEDED]: { target: S.RESERVATION_SUCCEEDED, actions: 'reserved' },
        [E.RESERVATION_FAILED]: { target: S.RESERVATION_FAILED, actions: 'failed' },
      },
    },
    [S.RESERVATION_SUCCEEDED]: { on: { [E.PAYMENT_CREATED]: { target: S.PAYMENT_CREATED, actions: 'paymentCreated' } } },
    [S.RESERVATION_FAILED]: { on: { [E.ORDER_FAILED]: S.ORDER_FAILED } },
    [S.PAYMENT_CREATED]: {
      on: {
        [E.PAYMENT_CONNECTED]: S.PAYMENT_CONNECTED,
        [E.PAYMENT_SUCCEEDED]: S.PAYMENT_SUCCEEDED,
        [E.PAYMENT_FAILED]: { target: S.PAYMENT_FAILED, actions: 'failed' },
      },
    },
    [S.PAYMENT_CONNECTED]: {
      on: {
        [E.PAYMENT_PENDING]: S.PAYMENT_PENDING,
        [E.PAYMENT_SUCCEEDED]: S.PAYMENT_SUCCEEDED,
        [E.PAYMENT_FAILED]: { target: S.PAYMENT_FAILED, actions: 'failed' },
      },
    },
    [S.PAYMENT_PENDING]: {
      on: {
        [E.PAYMENT_SUCCEEDED]: S.PAYMENT_SUCCEEDED,
        [E.PAYMENT_FAILED]: { target: S.PAYMENT_FAILED, actions: 'failed' },
      },
    },
    [S.PAYMENT_SUCCEEDED]: { on: { [E.ORDER_SUCCEEDED]: S.ORDER_SUCCEEDED } },
    [S.PAYMENT_FAILED]: { on: { [E.ORDER_FAILED]: S.ORDER_FAILED } },
    [S.ORDER_SUCCEEDED]: { type: 'final' },
    [S.ORDER_FAILED]: { type: 'final' },
  },
});
