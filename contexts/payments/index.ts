import path from 'node:path';
import { defineContext } from '@tributary/runtime';
import { paymentAggregate } from './payment.aggregate';
import { PaymentEventType } from './payment.machine';
import { paymentRoutes } from './routes';
import { sagaCommands } from './reactions';
import { chargeJob } from './charge-job';
import { chargeOnPending } from './charge-function';
import { loadPaymentsConfig } from './config';
import { checkPaymentInvariants } from './invariants';

// Fail at load with one line naming a bad PAYMENT_* variable, not at the first charge.
loadPaymentsConfig();

/** Payments: the payment lifecycle, driven by the order saga, charged through a gateway by a BullMQ job. */
export default defineContext({
  name: 'payments',
  description: 'Payments of orders, charged through a payment gateway (bundled: a simulator)',
  // A failed payment and the refund of a charge that came too late undo the payment step.
  aggregates: [{ ...paymentAggregate, compensations: [PaymentEventType.PAYMENT_FAILED, PaymentEventType.PAYMENT_REFUNDED] }],
  collections: { payments: '/v1/payments{?orderId,status,page,size}' },
  routes: paymentRoutes,
  subscriptions: [sagaCommands],
  jobs: [chargeJob],
  // The charge is a function bound to PAYMENT_PENDING; FUNCTIONS decides where it runs (docs/functions.md).
  functions: [chargeOnPending.function],
  migrations: path.join(__dirname, 'migrations'),
  invariants: checkPaymentInvariants,
});
