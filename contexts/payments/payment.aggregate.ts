import { z } from 'zod';
import { defineAggregate, type AggregateState } from '@tributary/runtime';
import { MAX_PAYMENT_AMOUNT, PAYMENT, PAYMENTS_TOPIC, PaymentStatus as S } from './contract';
import { CREDIT_CARD, PaymentEventType as E, paymentMachine, type PaymentContext, type PaymentEvent } from './payment.machine';
import { hasCents } from './money';
import { ONE_PAYMENT_PER_ORDER, paymentRow } from './read-model';

/** Largest amount the read model holds (numeric(12,2)), as the contract publishes it. */
export const MAX_AMOUNT = MAX_PAYMENT_AMOUNT;

const id = (field: string) =>
  z.string({ error: (i) => (i.input === undefined ? `${field} is required` : `${field} must be a string`) }).uuid(`${field} must be a UUID`);
const reason = z.string({ error: 'reason must be a string' }).trim().min(1, 'reason is required').max(500, 'reason must be at most 500 characters');

export const amountSchema = z
  .number({ error: (i) => (i.input === undefined ? 'amount is required' : 'amount must be a number') })
  .min(0, 'amount must be 0 or more')
  .max(MAX_AMOUNT, `amount must be at most ${MAX_AMOUNT}`)
  .refine(hasCents, 'amount must have at most 2 decimals');

export const createInput = z.object({ orderId: id('orderId'), amount: amountSchema });
export const failInput = z.object({ reason });
export const cancelUnknownInput = z.object({ orderId: id('orderId'), reason });
export const chargeInput = z.object({ chargeId: z.string().min(1, 'chargeId is required') });

type State = AggregateState<PaymentContext>;
const alreadyCreated = 'Payment has already been created';
const is = (s: State, ...statuses: string[]) => statuses.includes(s.status);

const processedAlready = (s: State) =>
  is(s, S.PAYMENT_SUCCEEDED, S.PAYMENT_FAILED, S.PAYMENT_PROCESSED) ? 'Payment has already been processed' : 'Payment must be pending';

/**
 * The payment aggregate. No command is public: payments are driven by the order's saga
 * (payments.commands) and the charge job, never by a client, so the commands resource lists
 * nothing.
 */
export const paymentAggregate = defineAggregate<PaymentContext, PaymentEvent>({
  type: PAYMENT,
  topic: PAYMENTS_TOPIC,
  machine: paymentMachine,
  commands: {
    /** CREATE_PAYMENT: the payment, connected to its order, with its charge queued. */
    create: {
      event: E.PAYMENT_CREATED,
      input: createInput,
      creates: true,
      public: false,
      decide: (input: z.infer<typeof createInput>): PaymentEvent[] => [
        { type: E.PAYMENT_CREATED, data: { orderId: input.orderId, amount: input.amount, paymentMethod: CREDIT_CARD } },
        { type: E.ORDER_CONNECTED, data: { orderId: input.orderId } },
        { type: E.PAYMENT_PENDING, data: {} },
      ],
      rejection: () => alreadyCreated,
    },
    /** CANCEL_PAYMENT for a payment never created: recorded as failed so a late CREATE_PAYMENT cannot charge it. */
    cancelUnknown: {
      event: E.PAYMENT_FAILED,
      input: cancelUnknownInput,
      creates: true,
      public: false,
      // The machine alone would accept PAYMENT_FAILED from an existing, unfinished payment; the
      // runtime refuses a creating command on an existing aggregate (runtime/actors/decide.ts).
      decide: (input: z.infer<typeof cancelUnknownInput>): PaymentEvent[] => [{ type: E.PAYMENT_FAILED, data: { orderId: input.orderId, reason: input.reason } }],
      rejection: () => alreadyCreated,
    },
    /** The gateway approved the charge: processed, then succeeded, in one transaction. */
    recordCharge: {
      event: E.PAYMENT_PROCESSED,
      input: chargeInput,
      public: false,
      decide: (input: z.infer<typeof chargeInput>): PaymentEvent[] => [
        { type: E.PAYMENT_PROCESSED, data: { chargeId: input.chargeId } },
        { type: E.PAYMENT_SUCCEEDED, data: {} },
      ],
      rejection: processedAlready,
    },
    /** Declined by the gateway, cancelled by the saga, or the gateway never answered. */
    fail: {
      event: E.PAYMENT_FAILED,
      input: failInput,
      public: false,
      rejection: (s) =>
        is(s, S.PAYMENT_SUCCEEDED, S.PAYMENT_PROCESSED) ? 'Payment has already succeeded' : 'Payment has already failed',
    },
    /** A charge approved after the payment failed was refunded at the gateway. */
    recordRefund: {
      event: E.PAYMENT_REFUNDED,
      input: chargeInput,
      public: false,
      rejection: (s) => (is(s, S.PAYMENT_FAILED) ? 'The charge has already been refunded' : 'Only a failed payment is refunded'),
    },
  },
  projectRow: paymentRow,
  uniqueViolations: ONE_PAYMENT_PER_ORDER,
  readModel: { table: 'payments', id: 'payment_id', status: 'status', version: 'version' },
});
