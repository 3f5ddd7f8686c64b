import path from 'node:path';
import { defineContext } from '@tributary/runtime';
import { ACCOUNT, AccountStatus } from '../accounts/contract';
import { orderAggregate, orderDraftSchema } from './order.aggregate';
import { OrderEventType } from './order.machine';
import { orderRoutes } from './routes';
import { orderSaga } from './reactions';
import { sagaSettings } from './settings';

// Fail at load, in every role, with one line naming a bad ORDER_* variable.
sagaSettings();

/**
 * Orders: placing orders and the order saga that drives each one, across the warehouse and
 * payments contexts, to ORDER_SUCCEEDED or ORDER_FAILED with compensations.
 */
export default defineContext({
  name: 'orders',
  description: 'Orders and the order saga',
  // It reads the account's state in-process; warehouse and payments are reached through streams only.
  dependencies: ['accounts'],
  // Compensations: the failures that make the saga undo its earlier steps (release, cancel).
  aggregates: [{ ...orderAggregate, compensations: [OrderEventType.RESERVATION_FAILED, OrderEventType.PAYMENT_FAILED] }],
  collections: { orders: '/v1/orders{?page,size,accountId,status}' },
  routes: orderRoutes,
  // The seed's account command: listed on an active account, served by this context's routes.
  offers: [{ aggregate: ACCOUNT, command: 'postOrder', when: (account) => account.status === AccountStatus.ACCOUNT_ACTIVE, input: orderDraftSchema }],
  subscriptions: (services) => [orderSaga(sagaSettings(services.config.env))],
  migrations: path.join(__dirname, 'migrations'),
});
