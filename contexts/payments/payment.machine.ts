import { assertEvent, assign, setup } from 'xstate';
import type { EventsOf } from '@tributary/runtime';
import { PaymentStatus as S, type PaymentEvents } from './contract';

/** The only payment method the seed knows. */
export const CREDIT_CARD = 'CREDIT_CARD';

/**
 * The payment's event types: the seed's statuses, plus PAYMENT_REFUNDED, which records that
 * a charge the gateway approved after the payment had already failed was given back (it
 * changes no status: the payment stays PAYMENT_FAILED).
 */
export const PaymentEventType = {
  ...S,
  PAYMENT_REFUNDED: 'PAYMENT_REFUNDED',
} as const;
export type PaymentEventType = (typeof PaymentEventType)[keyof typeof PaymentEventType];
const E = PaymentEventType;

export interface PaymentContext {
  orderId: string | null;
  /** In cents (money is computed in integer cents); null for a payment cancelled before it was created. */
  amountCents: number | null;
  paymentMethod: string | null;
  /** The gateway's id of the approved charge. */
  chargeId: string | null;
  failureReason: string | null;
  /** Set once an approved charge of a failed payment has been refunded. */
  refundedChargeId: string | null;
}

/** The payment's events: the union its machine folds and its commands decide. */
export type PaymentEvent = EventsOf<PaymentEvents>;

const cents = (amount: number) => Math.round(amount * 100);

/**
 * The payment lifecycle. States are the seed's statuses, transitions its event types.
 *
 *   new ─PAYMENT_CREATED→ PAYMENT_CREATED ─ORDER_CONNECTED→ ORDER_CONNECTED ─PAYMENT_PENDING→ PAYMENT_PENDING
 *   PAYMENT_PENDING ─PAYMENT_PROCESSED→ PAYMENT_PROCESSED ─PAYMENT_SUCCEEDED→ PAYMENT_SUCCEEDED
 *   new | PAYMENT_CREATED | ORDER_CONNECTED | PAYMENT_PENDING ─PAYMENT_FAILED→ PAYMENT_FAILED (─PAYMENT_REFUNDED→ itself, once)
 *
 * PAYMENT_FAILED straight from `new` records a cancellation that arrived before the payment
 * was created, so a late creation cannot charge it. Once processed a payment can no longer
 * fail: an approved charge is final (the seed's PROCESSED→FAILED existed only for a failed
 * publish, which the outbox rules out).
 */
export const paymentMachine = setup({
  types: { context: {} as PaymentContext, events: {} as PaymentEvent },
  actions: {
    // Each action is bound to one event type below; assertEvent narrows the union to it.
    created: assign(({ event }) => {
      assertEvent(event, E.PAYMENT_CREATED);
      const x = event.data;
      return { orderId: x.orderId, amountCents: cents(x.amount), paymentMethod: x.paymentMethod ?? CREDIT_CARD };
    }),
    connected: assign(({ event }) => {
      assertEvent(event, E.ORDER_CONNECTED);
      return { orderId: event.data.orderId };
    }),
    processed: assign(({ event }) => {
      assertEvent(event, E.PAYMENT_PROCESSED);
      return { chargeId: event.data.chargeId };
    }),
    failed: assign(({ context, event }) => {
      assertEvent(event, E.PAYMENT_FAILED);
      return { failureReason: event.data.reason, orderId: event.data.orderId ?? context.orderId };
    }),
    refunded: assign(({ event }) => {
      assertEvent(event, E.PAYMENT_REFUNDED);
      return { refundedChargeId: event.data.chargeId };
    }),
  },
  guards: {
    notRefunded: ({ context }) => context.refundedChargeId === null,
  },
}).createMachine({
  id: 'payment',
  initial: 'new',
  context: { orderId: null, amountCents: null, paymentMethod: null, chargeId: null, failureReason: null, refundedChargeId: null },
  states: {
    new: {
      on: {
        [E.PAYMENT_CREATED]: { target: S.PAYMENT_CREATED, actions: 'created' },
        [E.PAYMENT_FAILED]: { target: S.PAYMENT_FAILED, actions: 'failed' },
      },
    },
    [S.PAYMENT_CREATED]: {
      on: {
        [E.ORDER_CONNECTED]: { target: S.ORDER_CONNECTED, actions: 'connected' },
        [E.PAYMENT_FAILED]: { target: S.PAYMENT_FAILED, actions: 'failed' },
      },
    },
    [S.ORDER_CONNECTED]: {
      on: {
        [E.PAYMENT_PENDING]: S.PAYMENT_PENDING,
        [E.PAYMENT_FAILED]: { target: S.PAYMENT_FAILED, actions: 'failed' },
      },
    },
    [S.PAYMENT_PENDING]: {
      on: {
        [E.PAYMENT_PROCESSED]: { target: S.PAYMENT_PROCESSED, actions: 'processed' },
        [E.PAYMENT_FAILED]: { target: S.PAYMENT_FAILED, actions: 'failed' },
      },
    },
    [S.PAYMENT_PROCESSED]: { on: { [E.PAYMENT_SUCCEEDED]: S.PAYMENT_SUCCEEDED } },
    // Final: a succeeded payment never changes again (the console counts it as an outcome).
    [S.PAYMENT_SUCCEEDED]: { type: 'final' },
    [S.PAYMENT_FAILED]: { on: { [E.PAYMENT_REFUNDED]: { guard: 'notRefunded', actions: 'refunded' } } },
  },
});
