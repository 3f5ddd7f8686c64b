import path from 'node:path';
import { defineContext } from '@tributary/runtime';
import { SHIPMENTS_PATH } from './contract';
import { shipSucceededOrders } from './reactions';
import { shippingRoutes } from './routes';

/**
 * Shipping, a context outside `contexts/` (load it with `CONTEXTS_DIR=examples`): it reacts to
 * the orders context's ORDER_SUCCEEDED and requests one shipment per order. docs/first-context.md
 * walks through it.
 */
export default defineContext({
  name: 'shipping',
  description: 'One shipment per succeeded order',
  dependencies: ['orders'],
  collections: { shipments: `${SHIPMENTS_PATH}{?page,size}` },
  routes: shippingRoutes,
  subscriptions: [shipSucceededOrders],
  migrations: path.join(__dirname, 'migrations'),
});
