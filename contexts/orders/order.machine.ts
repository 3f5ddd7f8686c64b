import { assign, setup } from 'xstate';
import { OrderStatus as S, type LineItem } from './contract';

export interface ShippingAddress {
  street1: string;
  street2?: string;
  city: string;
  state: string;
  country: string;
  zipCode: string;
}

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

type Data = Record<string, unknown>;
export type OrderMachineEvent = { type: (typeof E)[keyof typeof E]; data: Data };

const d = (event: OrderMachineEvent) => event.data ?? {};

/**
 * The order lifecycle and saga states. Every path ends in ORDER_SUCCEEDED or ORDER_FAILED;
 * RESERVATION_FAILED and PAYMENT_FAILED are the compensating states (inventory is being
 * released) that the seed could enter but never leave.
 */
export const orderMachine = setup({
  types: { context: {} as OrderContext, events: {} as OrderMachineEvent },
  actions: {
    created: assign(({ event }) => {
      const x = d(event);
      return {
        accountId: x.accountId as string,
        lineItems: x.lineItems as LineItem[],
        shippingAddress: x.shippingAddress as ShippingAddress,
        totalCents: x.totalCents as number,
      };
    }),
    addReservation: assign(({ context, event }) => ({ reservationIds: [...context.reservationIds, d(event).reservationId as string] })),
    reserved: assign(({ event }) => ({ warehouseId: d(event).warehouseId as string })),
    paymentCreated: assign(({ event }) => ({ paymentId: d(event).paymentId as string })),
    failed: assign(({ event }) => ({ failureReason: d(event).reason as string })),
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
