/**
 * The payments context's published language.
 *
 * Commands from an order's saga arrive on `payments.commands`, addressed to the payment
 * actor (`{ type: 'payment', id: paymentId }`; the order chooses the id, so a re-sent
 * command names the same payment). Replies go to `orders.commands`.
 */
import { defineTopic, type TimerMessages } from '@tributary/runtime';

export const PAYMENT = 'payment';
export const PAYMENTS_TOPIC = 'payments';
export const PAYMENTS_COMMANDS_TOPIC = 'payments.commands';

export const PaymentCommand = {
  /** Create the payment (if new) and queue its charge. Reply PAYMENT_ACCEPTED; later PAYMENT_CHARGED | PAYMENT_DECLINED. */
  CREATE_PAYMENT: 'CREATE_PAYMENT',
  /** Give up on the payment unless it already succeeded. Reply PAYMENT_DECLINED, or PAYMENT_CHARGED if it had succeeded. */
  CANCEL_PAYMENT: 'CANCEL_PAYMENT',
} as const;
export type PaymentCommand = (typeof PaymentCommand)[keyof typeof PaymentCommand];

/**
 * The largest amount a payment takes (its read model's numeric(12,2)); a CREATE_PAYMENT above
 * it fails the payment. Orders cap their totals at or below it, so the payment can always honour one.
 */
export const MAX_PAYMENT_AMOUNT = 9_999_999_999.99;

export interface CreatePaymentData {
  orderId: string;
  paymentId: string;
  /** Σ (price + tax) × quantity, in currency units with 2 decimals. */
  amount: number;
}
export interface CancelPaymentData {
  orderId: string;
  paymentId: string;
  reason: string;
}

/** What an order's saga sends the payments context on {@link PAYMENTS_COMMANDS_TOPIC}, and its deadlines. */
export interface PaymentCommands extends TimerMessages {
  CREATE_PAYMENT: CreatePaymentData;
  CANCEL_PAYMENT: CancelPaymentData;
}

/** The payments command topic, typed. */
export const paymentsCommandsTopic = defineTopic<PaymentCommands>(PAYMENTS_COMMANDS_TOPIC);

/** The seed's statuses (= its event types). */
export const PaymentStatus = {
  PAYMENT_CREATED: 'PAYMENT_CREATED',
  ORDER_CONNECTED: 'ORDER_CONNECTED',
  PAYMENT_PENDING: 'PAYMENT_PENDING',
  PAYMENT_PROCESSED: 'PAYMENT_PROCESSED',
  PAYMENT_FAILED: 'PAYMENT_FAILED',
  PAYMENT_SUCCEEDED: 'PAYMENT_SUCCEEDED',
} as const;
export type PaymentStatus = (typeof PaymentStatus)[keyof typeof PaymentStatus];

/**
 * The payment's events, published on {@link PAYMENTS_TOPIC}: event type → payload. The
 * payment aggregate's event union is built from it. (PAYMENT_REFUNDED: a charge approved
 * after the payment had failed was given back; the status stays PAYMENT_FAILED.)
 */
export interface PaymentEvents {
  PAYMENT_CREATED: { orderId: string; amount: number; paymentMethod?: string };
  ORDER_CONNECTED: { orderId: string };
  PAYMENT_PENDING: Record<string, never>;
  PAYMENT_PROCESSED: { chargeId: string };
  PAYMENT_SUCCEEDED: Record<string, never>;
  /** `orderId` only on a cancellation that arrived before the payment existed. */
  PAYMENT_FAILED: { reason: string; orderId?: string };
  PAYMENT_REFUNDED: { chargeId: string };
}
