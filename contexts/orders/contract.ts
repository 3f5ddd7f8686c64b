/**
 * The orders context's published language. Other contexts import only this file.
 *
 * `orders.commands` carries the replies of the warehouse and payments contexts to an
 * order's saga, addressed to the order actor (`{ type: 'order', id: orderId }`).
 */
import { defineTopic, type TimerMessages } from '@tributary/runtime';

export const ORDER = 'order';
export const ORDERS_TOPIC = 'orders';
export const ORDERS_COMMANDS_TOPIC = 'orders.commands';

/** The seed's order statuses. */
export const OrderStatus = {
  ORDER_CREATED: 'ORDER_CREATED',
  ACCOUNT_CONNECTED: 'ACCOUNT_CONNECTED',
  RESERVATION_PENDING: 'RESERVATION_PENDING',
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
export type OrderStatus = (typeof OrderStatus)[keyof typeof OrderStatus];

export interface LineItem {
  productId: string;
  name: string;
  quantity: number;
  price: number;
  tax: number;
}

export interface ShippingAddress {
  street1: string;
  street2?: string;
  city: string;
  state: string;
  country: string;
  zipCode: string;
}

/**
 * What an order's terminal events carry, so that a context reacting to them (shipping,
 * invoicing) learns the order without reading the orders context's tables.
 */
export interface OrderSummary {
  accountId: string;
  lineItems: LineItem[];
  shippingAddress: ShippingAddress;
  /** Σ (price + tax) × quantity, in currency units with 2 decimals. */
  total: number;
}

export interface OrderCreatedData {
  accountId: string;
  lineItems: LineItem[];
  shippingAddress: ShippingAddress;
  /** Σ (price + tax) × quantity, in cents. */
  totalCents: number;
}
/** Why the order failed, with its summary. */
export interface OrderFailedData extends OrderSummary {
  reason: string;
}
export type OrderSucceededData = OrderSummary;

/**
 * The order's events, published on {@link ORDERS_TOPIC}: event type → payload. The order
 * aggregate's event union is built from it, so what is published is what the machine folds.
 *
 * Events written before the terminal events carried a summary have `data: {}` on
 * ORDER_SUCCEEDED and only `{ reason }` on ORDER_FAILED; they are long consumed by every
 * group that existed then, but a consumer group created later that reads the topic from its
 * start (or a replay of the log) can meet them.
 */
export interface OrderEvents {
  ORDER_CREATED: OrderCreatedData;
  ACCOUNT_CONNECTED: { accountId: string };
  RESERVATION_PENDING: Record<string, never>;
  RESERVATION_ADDED: { reservationId: string };
  RESERVATION_SUCCEEDED: { warehouseId: string };
  RESERVATION_FAILED: { reason: string };
  PAYMENT_CREATED: { paymentId: string; amount: number };
  PAYMENT_CONNECTED: { paymentId: string | null };
  PAYMENT_PENDING: Record<string, never>;
  PAYMENT_SUCCEEDED: { paymentId: string | null };
  PAYMENT_FAILED: { reason: string };
  ORDER_SUCCEEDED: OrderSucceededData;
  ORDER_FAILED: OrderFailedData;
}

/** The orders topic, typed: a subscription over it receives these events typed. */
export const ordersTopic = defineTopic<OrderEvents>(ORDERS_TOPIC);

/** Replies to an order's saga (on ORDERS_COMMANDS_TOPIC). */
export const OrderReply = {
  /** warehouse: every line is reserved in one warehouse. */
  INVENTORY_RESERVED: 'INVENTORY_RESERVED',
  /** warehouse: no warehouse has the stock (nothing was reserved). */
  INVENTORY_UNAVAILABLE: 'INVENTORY_UNAVAILABLE',
  /** warehouse: the order's reserved units are available again (compensation done). */
  INVENTORY_RELEASED: 'INVENTORY_RELEASED',
  /** warehouse: the order's reserved units are sold. */
  INVENTORY_COMMITTED: 'INVENTORY_COMMITTED',
  /** payments: the payment exists and its charge is queued. */
  PAYMENT_ACCEPTED: 'PAYMENT_ACCEPTED',
  /** payments: the charge went through. */
  PAYMENT_CHARGED: 'PAYMENT_CHARGED',
  /** payments: the charge was declined or cancelled; nothing stands. */
  PAYMENT_DECLINED: 'PAYMENT_DECLINED',
} as const;
export type OrderReply = (typeof OrderReply)[keyof typeof OrderReply];

export interface InventoryReservedData {
  orderId: string;
  warehouseId: string;
  reservationIds: string[];
}
export interface InventoryUnavailableData {
  orderId: string;
  reason: string;
}
export interface InventoryReleasedData {
  orderId: string;
}
export interface InventoryCommittedData {
  orderId: string;
}
export interface PaymentAcceptedData {
  orderId: string;
  paymentId: string;
}
export interface PaymentChargedData {
  orderId: string;
  paymentId: string;
}
export interface PaymentDeclinedData {
  orderId: string;
  paymentId: string;
  reason: string;
}

/** The replies an order's saga receives, and its deadlines, on {@link ORDERS_COMMANDS_TOPIC}. */
export interface OrderReplies extends TimerMessages {
  INVENTORY_RESERVED: InventoryReservedData;
  INVENTORY_UNAVAILABLE: InventoryUnavailableData;
  INVENTORY_RELEASED: InventoryReleasedData;
  INVENTORY_COMMITTED: InventoryCommittedData;
  PAYMENT_ACCEPTED: PaymentAcceptedData;
  PAYMENT_CHARGED: PaymentChargedData;
  PAYMENT_DECLINED: PaymentDeclinedData;
}

/** The saga's command topic, typed. */
export const ordersCommandsTopic = defineTopic<OrderReplies>(ORDERS_COMMANDS_TOPIC);
