/**
 * The orders context's published language. Other contexts import only this file.
 *
 * `orders.commands` carries the replies of the warehouse and payments contexts to an
 * order's saga, addressed to the order actor (`{ type: 'order', id: orderId }`).
 */
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
