import { defineSubscription } from '@tributary/runtime';
import { ordersTopic } from '../../contexts/orders/contract';
import { requestShipment } from './read-model';

/**
 * One shipment per succeeded order. The runtime runs `handle` in the message's transaction and
 * records the message in the group's inbox in that same transaction, so a redelivered message
 * (a worker that died before acknowledging it) is skipped; the read model's unique order id
 * covers what the inbox cannot see (another message about the same order).
 *
 * `ordersTopic` is the orders contract's typed topic: `message.data` is the ORDER_SUCCEEDED
 * payload (the order's account, lines, address and total), so shipping never reads the orders
 * context's tables. The order's id is the message's actor.
 */
export const shipSucceededOrders = defineSubscription({
  name: 'ship-succeeded-orders',
  topics: [ordersTopic],
  types: ['ORDER_SUCCEEDED'],
  async handle({ message, tx, log }) {
    const created = await requestShipment(tx, message.actor.id, message.data);
    if (!created) log.info({ orderId: message.actor.id }, 'the order already has its shipment');
  },
});
