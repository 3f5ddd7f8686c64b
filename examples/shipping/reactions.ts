import type { Subscription } from '@tributary/runtime';
import { ORDERS_TOPIC, OrderStatus } from '../../contexts/orders/contract';
import { requestShipment } from './read-model';

/**
 * One shipment per succeeded order. The runtime runs `handle` in the message's transaction and
 * records the message in the group's inbox in that same transaction, so a redelivered message
 * (a worker that died before acknowledging it) is skipped; the read model's unique order id
 * covers what the inbox cannot see (another message about the same order).
 *
 * The order's id is the message's actor. (What the order event carries in `data` is the orders
 * context's published language: this reaction needs nothing more than the id.)
 */
export const shipSucceededOrders: Subscription = {
  name: 'ship-succeeded-orders',
  topics: [ORDERS_TOPIC],
  types: [OrderStatus.ORDER_SUCCEEDED],
  async handle({ message, tx, log }) {
    const created = await requestShipment(tx, message.actor.id);
    if (!created) log.info({ orderId: message.actor.id }, 'the order already has its shipment');
  },
};
