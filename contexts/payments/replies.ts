import type { AggregateState, OutgoingMessage } from '@tributary/runtime';
import { ORDER, ORDERS_COMMANDS_TOPIC, OrderReply } from '../orders/contract';
import { PaymentStatus as S } from './contract';
import type { PaymentContext } from './payment.machine';

/** A reply to the order's saga, addressed to the order actor on orders.commands. */
export function replyToOrder(type: OrderReply, orderId: string, paymentId: string, extra: Record<string, unknown> = {}): OutgoingMessage {
  return { topic: ORDERS_COMMANDS_TOPIC, type, actor: { type: ORDER, id: orderId }, data: { orderId, paymentId, ...extra } };
}

export const declined = (orderId: string, paymentId: string, reason: string) =>
  replyToOrder(OrderReply.PAYMENT_DECLINED, orderId, paymentId, { reason });

/**
 * What the payment's state answers the order, whichever command asked: succeeded →
 * PAYMENT_CHARGED; failed → PAYMENT_DECLINED with its reason; otherwise (its charge is
 * queued or running) → PAYMENT_ACCEPTED. Answering from the state is what makes every
 * command idempotent: asked again, the payment answers the same.
 */
export function answerFor(state: AggregateState<PaymentContext>, orderId = state.context.orderId!): OutgoingMessage {
  const paymentId = state.id;
  if (state.status === S.PAYMENT_SUCCEEDED) return replyToOrder(OrderReply.PAYMENT_CHARGED, orderId, paymentId);
  if (state.status === S.PAYMENT_FAILED) return declined(orderId, paymentId, state.context.failureReason ?? 'payment failed');
  return replyToOrder(OrderReply.PAYMENT_ACCEPTED, orderId, paymentId);
}
