import { z } from 'zod';
import { defineAggregate, type AggregateState } from '@tributary/runtime';
import { ORDER, ORDERS_TOPIC, type OrderSummary } from './contract';
import { orderMachine, OrderEventType as E, type OrderContext, type OrderEvent } from './order.machine';
import { orderRow } from './read-model';
import { productIdSchema } from '../warehouse/contract';
import { centsOf, moneySchema } from './money';
import { ORDER_CEILING } from './limits';

const text = (field: string, max = 200) =>
  z.string({ error: (i) => (i.input === undefined ? `${field} is required` : `${field} must be a string`) }).trim().min(1, `${field} is required`).max(max, `${field} is too long`);

export const lineItemSchema = z
  .object({
    // One product-id rule with the warehouse, which must find the product an order names.
    productId: productIdSchema,
    name: text('name'),
    quantity: z
      .number({ error: 'quantity must be a number' })
      .int('quantity must be a whole number')
      .min(1, 'quantity must be at least 1')
      .max(ORDER_CEILING.unitsPerLine, `quantity must be at most ${ORDER_CEILING.unitsPerLine}`),
    // A unit cannot be free (an order of total 0 is not a payment); tax may be 0.
    price: moneySchema('price', 0.01, ORDER_CEILING.unitAmount),
    tax: moneySchema('tax', 0, ORDER_CEILING.unitAmount),
  })
  .strict();

export const shippingAddressSchema = z
  .object(
    {
    street1: text('street1'),
    street2: z.string().trim().max(200).optional(),
    city: text('city'),
    state: text('state'),
    country: text('country'),
    zipCode: z.union([z.string().trim().min(1).max(20), z.number().int().nonnegative()]).transform(String),
    },
    { error: (i) => (i.input === undefined ? 'shippingAddress is required' : 'shippingAddress must be an object') },
  )
  .strict();

/** What a client posts (the account comes from the path for postOrder). */
export const orderDraftSchema = z
  .object({
    lineItems: z
      .array(lineItemSchema, { error: 'lineItems must be an array' })
      .min(1, 'an order needs at least one line item')
      .max(ORDER_CEILING.lines, `an order holds at most ${ORDER_CEILING.lines} line items`)
      // The payment must be able to take the total: never past its largest amount.
      .refine((lines) => totalCents(lines) <= Math.round(ORDER_CEILING.total * 100), `the order total must be at most ${ORDER_CEILING.total.toFixed(2)}`),
    shippingAddress: shippingAddressSchema,
  })
  .strict();

export const newOrderSchema = orderDraftSchema.extend({ accountId: z.string().uuid('accountId must be an account id') }).strict();

export type NewOrder = z.infer<typeof newOrderSchema>;

/** Σ (price + tax) × quantity, in cents (tax is an amount per unit, as in the seed). */
export function totalCents(lines: { price: number; tax: number; quantity: number }[]): number {
  return lines.reduce((sum, l) => sum + (centsOf(l.price) + centsOf(l.tax)) * l.quantity, 0);
}

type State = AggregateState<OrderContext>;
const reason = z.object({ reason: z.string().min(1) });

/** What the terminal events carry: the order as placed, for contexts that react to them. */
export function summaryOf(s: State): OrderSummary {
  const { accountId, lineItems, shippingAddress, totalCents } = s.context;
  // Every order has an address from ORDER_CREATED on; null is only the machine's initial context.
  if (!shippingAddress) throw new Error(`order ${s.id} has no shipping address`);
  return { accountId, lineItems, shippingAddress, total: totalCents / 100 };
}

/** The order aggregate. Its commands are the saga's steps, so none is public over HTTP. */
export const orderAggregate = defineAggregate<OrderContext, OrderEvent>({
  type: ORDER,
  topic: ORDERS_TOPIC,
  machine: orderMachine,
  commands: {
    place: {
      event: E.ORDER_CREATED,
      input: newOrderSchema,
      creates: true,
      data: (o: NewOrder) => ({ ...o, totalCents: totalCents(o.lineItems) }),
      rejection: () => 'The order already exists',
    },
    connectAccount: {
      event: E.ACCOUNT_CONNECTED,
      public: false,
      data: (_: unknown, s: State) => ({ accountId: s.context.accountId }),
      rejection: () => 'Order must be in a created state',
    },
    fail: {
      event: E.ORDER_FAILED,
      input: reason,
      public: false,
      data: (i: { reason: string }, s: State) => ({ reason: i.reason, ...summaryOf(s) }),
      rejection: (s) => `The order cannot fail from ${s.status}`,
    },
    requestReservation: {
      event: E.RESERVATION_PENDING,
      public: false,
      rejection: () => 'The order must be connected to an account',
    },
    reservationSucceeded: {
      event: E.RESERVATION_ADDED,
      input: z.object({ warehouseId: z.string(), reservationIds: z.array(z.string()).min(1) }),
      public: false,
      decide: (i: { warehouseId: string; reservationIds: string[] }, s: State): OrderEvent[] => [
        ...i.reservationIds.filter((r) => !s.context.reservationIds.includes(r)).map((reservationId) => ({ type: E.RESERVATION_ADDED, data: { reservationId } })),
        { type: E.RESERVATION_SUCCEEDED, data: { warehouseId: i.warehouseId } },
      ],
      rejection: () => 'Inventory has already been reserved',
    },
    reservationFailed: {
      event: E.RESERVATION_FAILED,
      input: reason,
      public: false,
      rejection: () => 'The order is not waiting for a reservation',
    },
    createPayment: {
      event: E.PAYMENT_CREATED,
      input: z.object({ paymentId: z.string().uuid() }),
      public: false,
      data: (i: { paymentId: string }, s: State) => ({ paymentId: i.paymentId, amount: s.context.totalCents / 100 }),
      rejection: () => 'Payment has already been created',
    },
    paymentAccepted: {
      event: E.PAYMENT_CONNECTED,
      public: false,
      decide: (_: unknown, s: State): OrderEvent[] => [
        { type: E.PAYMENT_CONNECTED, data: { paymentId: s.context.paymentId } },
        { type: E.PAYMENT_PENDING, data: {} },
      ],
      rejection: () => 'The order is not waiting for its payment to be accepted',
    },
    paymentSucceeded: {
      event: E.PAYMENT_SUCCEEDED,
      public: false,
      data: (_: unknown, s: State) => ({ paymentId: s.context.paymentId }),
      rejection: () => 'Payment has already been processed',
    },
    paymentFailed: {
      event: E.PAYMENT_FAILED,
      input: reason,
      public: false,
      rejection: () => 'Payment has already been processed',
    },
    complete: {
      event: E.ORDER_SUCCEEDED,
      public: false,
      data: (_: unknown, s: State) => summaryOf(s),
      rejection: () => 'Order must be in a terminal state',
    },
  },
  projectRow: orderRow,
  readModel: { table: 'orders', id: 'order_id', status: 'status', version: 'version' },
});
