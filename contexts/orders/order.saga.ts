import type { AggregateState, Envelope, OutgoingMessage } from '@tributary/runtime';
import { ORDER, OrderReply as R, OrderStatus as S } from './contract';
import type { OrderContext } from './order.machine';
import { OrderEventType as E } from './order.machine';
import { WAREHOUSE_COMMANDS_TOPIC, WarehouseCommand } from '../warehouse/contract';
import { PAYMENT, PAYMENTS_COMMANDS_TOPIC, PaymentCommand } from '../payments/contract';
import { AccountStatus } from '../accounts/contract';
import type { SagaSettings } from './settings';

/** The saga's steps; each runs as a span of its own (`saga.step <step>` / `saga.compensate <step>`). */
export type SagaStep =
  | 'connectAccount' | 'rejectAccount' | 'reserveInventory' | 'recordReservation' | 'recordReservationFailure'
  | 'createPayment' | 'recordPaymentAccepted' | 'recordPayment' | 'recordPaymentFailure' | 'commitInventory'
  | 'completeOrder' | 'releaseInventory' | 'cancelPayment' | 'failOrder';

/** Steps that undo work; their spans are `saga.compensate`. */
export const COMPENSATIONS: ReadonlySet<SagaStep> = new Set(['releaseInventory', 'cancelPayment', 'failOrder', 'recordReservationFailure', 'recordPaymentFailure']);

/**
 * The deadline timer of an order: one at a time, replaced at each step, alive until the order
 * is terminal. While the saga waits for one of the order's own events it is a `resume`
 * deadline: if that event is lost (Redis lost its data), the step runs again from the state.
 */
export const DEADLINE = 'deadline';

export interface Deadline {
  /** What to do when it fires. */
  step: 'resume' | 'reserveInventory' | 'createPayment' | 'cancelPayment' | 'commitInventory' | 'releaseInventory';
  /** How many times the step's command has been sent. */
  attempt: number;
  /** The status the order was waiting in; a timer that fires in another status is stale. */
  status: string;
  inMs: number;
}

/** What the saga does with one message: a command on the order, messages to send, a deadline. */
export interface SagaDecision {
  step: SagaStep;
  command?: { name: string; input?: Record<string, unknown> };
  send: OutgoingMessage[];
  /** Set or move the deadline; 'clear' removes it; undefined leaves it. */
  deadline?: Deadline | 'clear';
}

/** Facts the saga needs beyond the order and the message (looked up by the reaction). */
export interface SagaFacts {
  accountStatus?: string;
  /** A fresh id, for the payment the saga is about to create. */
  newId: () => string;
}

const orderActor = (id: string) => ({ type: ORDER, id });

function reserve(order: AggregateState<OrderContext>): OutgoingMessage {
  return {
    topic: WAREHOUSE_COMMANDS_TOPIC,
    type: WarehouseCommand.RESERVE_INVENTORY,
    actor: orderActor(order.id),
    data: { orderId: order.id, lines: order.context.lineItems.map((l) => ({ productId: l.productId, quantity: l.quantity })) },
  };
}
const release = (order: AggregateState<OrderContext>): OutgoingMessage => ({
  topic: WAREHOUSE_COMMANDS_TOPIC,
  type: WarehouseCommand.RELEASE_INVENTORY,
  actor: orderActor(order.id),
  data: { orderId: order.id, reason: order.context.failureReason ?? 'order failed' },
});
const commit = (order: AggregateState<OrderContext>): OutgoingMessage => ({
  topic: WAREHOUSE_COMMANDS_TOPIC,
  type: WarehouseCommand.COMMIT_INVENTORY,
  actor: orderActor(order.id),
  data: { orderId: order.id },
});
const createPayment = (order: AggregateState<OrderContext>, paymentId: string): OutgoingMessage => ({
  topic: PAYMENTS_COMMANDS_TOPIC,
  type: PaymentCommand.CREATE_PAYMENT,
  actor: { type: PAYMENT, id: paymentId },
  data: { orderId: order.id, paymentId, amount: order.context.totalCents / 100 },
});
const cancelPayment = (order: AggregateState<OrderContext>, reason: string): OutgoingMessage => ({
  topic: PAYMENTS_COMMANDS_TOPIC,
  type: PaymentCommand.CANCEL_PAYMENT,
  actor: { type: PAYMENT, id: order.context.paymentId! },
  data: { orderId: order.id, paymentId: order.context.paymentId, reason },
});

const PAYMENT_WAITING: readonly string[] = [S.PAYMENT_CREATED, S.PAYMENT_CONNECTED, S.PAYMENT_PENDING];
const COMPENSATING: readonly string[] = [S.RESERVATION_FAILED, S.PAYMENT_FAILED];

/**
 * The order saga as a pure function of the order's current state and one message (one of
 * its own events, a reply from another context, or its deadline firing). The reaction
 * applies the decision in the message's transaction.
 */
export function decideSaga(order: AggregateState<OrderContext>, message: Envelope, facts: SagaFacts, settings: SagaSettings): SagaDecision | undefined {
  const status = order.status;
  const deadline = (step: Deadline['step'], attempt = 1): Deadline => ({ step, attempt, status: deadlineStatus(step, status), inMs: settings.stepTimeoutMs });
  /** Wait for the order's own event that a command is about to record (`next` is its status). */
  const resumeIn = (next: string): Deadline => ({ step: 'resume', attempt: 1, status: next, inMs: settings.stepTimeoutMs });
  const data = (message.data ?? {}) as Record<string, unknown>;

  switch (message.type) {
    // ---- the order's own events: start the next step
    case E.ORDER_CREATED:
      if (status !== S.ORDER_CREATED) return undefined;
      if (facts.accountStatus !== AccountStatus.ACCOUNT_ACTIVE) {
        return { step: 'rejectAccount', command: { name: 'fail', input: { reason: 'Only active accounts can create an order' } }, send: [], deadline: 'clear' };
      }
      return { step: 'connectAccount', command: { name: 'connectAccount' }, send: [], deadline: resumeIn(S.ACCOUNT_CONNECTED) };
    case E.ACCOUNT_CONNECTED:
      if (status !== S.ACCOUNT_CONNECTED) return undefined;
      return { step: 'reserveInventory', command: { name: 'requestReservation' }, send: [reserve(order)], deadline: deadline('reserveInventory') };
    case E.RESERVATION_SUCCEEDED: {
      if (status !== S.RESERVATION_SUCCEEDED) return undefined;
      const paymentId = facts.newId();
      return {
        step: 'createPayment',
        command: { name: 'createPayment', input: { paymentId } },
        send: [createPayment(order, paymentId)],
        deadline: deadline('createPayment'),
      };
    }
    case E.PAYMENT_SUCCEEDED:
      if (status !== S.PAYMENT_SUCCEEDED) return undefined;
      return { step: 'commitInventory', send: [commit(order)], deadline: deadline('commitInventory') };
    case E.RESERVATION_FAILED:
    case E.PAYMENT_FAILED:
      if (!COMPENSATING.includes(status)) return undefined;
      return { step: 'releaseInventory', send: [release(order)], deadline: deadline('releaseInventory') };

    // ---- replies from the warehouse and payments contexts
    case R.INVENTORY_RESERVED:
      if (status === S.RESERVATION_PENDING) {
        return { step: 'recordReservation', command: { name: 'reservationSucceeded', input: { warehouseId: data.warehouseId, reservationIds: data.reservationIds } }, send: [], deadline: resumeIn(S.RESERVATION_SUCCEEDED) };
      }
      // Reserved after the order gave up on it: give the units back, until the warehouse confirms.
      if (status === S.ORDER_FAILED) return { step: 'releaseInventory', send: [release(order)], deadline: deadline('releaseInventory') };
      if (COMPENSATING.includes(status)) return { step: 'releaseInventory', send: [release(order)] };
      return undefined;
    case R.INVENTORY_UNAVAILABLE:
      if (status !== S.RESERVATION_PENDING) return undefined;
      return { step: 'recordReservationFailure', command: { name: 'reservationFailed', input: { reason: String(data.reason ?? 'inventory unavailable') } }, send: [], deadline: resumeIn(S.RESERVATION_FAILED) };
    case R.PAYMENT_ACCEPTED:
      if (status !== S.PAYMENT_CREATED || data.paymentId !== order.context.paymentId) return undefined;
      return { step: 'recordPaymentAccepted', command: { name: 'paymentAccepted' }, send: [] };
    case R.PAYMENT_CHARGED:
      if (!PAYMENT_WAITING.includes(status) || data.paymentId !== order.context.paymentId) return undefined;
      return { step: 'recordPayment', command: { name: 'paymentSucceeded' }, send: [], deadline: resumeIn(S.PAYMENT_SUCCEEDED) };
    case R.PAYMENT_DECLINED:
      if (!PAYMENT_WAITING.includes(status) || data.paymentId !== order.context.paymentId) return undefined;
      return { step: 'recordPaymentFailure', command: { name: 'paymentFailed', input: { reason: `payment declined: ${String(data.reason ?? 'no reason given')}` } }, send: [], deadline: resumeIn(S.PAYMENT_FAILED) };
    case R.INVENTORY_COMMITTED:
      if (status !== S.PAYMENT_SUCCEEDED) return undefined;
      return { step: 'completeOrder', command: { name: 'complete' }, send: [], deadline: 'clear' };
    case R.INVENTORY_RELEASED:
      // A late reservation of a failed order is released: stop re-sending the release.
      if (status === S.ORDER_FAILED) return { step: 'releaseInventory', send: [], deadline: 'clear' };
      if (!COMPENSATING.includes(status)) return undefined;
      return { step: 'failOrder', command: { name: 'fail', input: { reason: order.context.failureReason ?? 'order failed' } }, send: [], deadline: 'clear' };

    // ---- a deadline: re-send the step, give up and compensate, or keep compensating
    case 'TIMER_FIRED': {
      const d = data as unknown as Deadline;
      // The order's own event for this state was not acted on: act as if it had arrived now.
      if (d.step === 'resume') return d.status === status && status in E ? decideSaga(order, { ...message, type: status }, facts, settings) : undefined;
      return onDeadline(order, d, settings);
    }
  }
  return undefined;
}

/**
 * The status a step waits in, once its command has run (payment steps wait across the three
 * payment statuses; see waitingIn). A deadline that fires in another status is stale.
 */
function deadlineStatus(step: Deadline['step'], current: string): string {
  if (step === 'reserveInventory') return S.RESERVATION_PENDING;
  if (step === 'createPayment' || step === 'cancelPayment') return 'PAYMENT';
  return current;
}

function waitingIn(d: Deadline, status: string): boolean {
  return d.status === 'PAYMENT' ? PAYMENT_WAITING.includes(status) : d.status === status;
}

function onDeadline(order: AggregateState<OrderContext>, d: Deadline, settings: SagaSettings): SagaDecision | undefined {
  if (!d.step || !waitingIn(d, order.status)) return undefined; // the step was answered: a stale timer
  const next = d.attempt + 1;
  const again = (step: Deadline['step'], inMs = settings.stepTimeoutMs): Deadline => ({ step, attempt: next, status: d.status, inMs });
  // Compensations and forward recovery never give up; they back off instead.
  const backoff = Math.min(settings.compensationMaxDelayMs, settings.stepTimeoutMs * 2 ** Math.min(d.attempt, 10));
  switch (d.step) {
    case 'reserveInventory':
      if (d.attempt < settings.maxAttempts) return { step: 'reserveInventory', send: [reserve(order)], deadline: again('reserveInventory') };
      return {
        step: 'recordReservationFailure',
        command: { name: 'reservationFailed', input: { reason: `the warehouse did not answer after ${d.attempt} attempts` } },
        send: [],
        deadline: { step: 'resume', attempt: 1, status: S.RESERVATION_FAILED, inMs: settings.stepTimeoutMs },
      };
    case 'createPayment':
      if (d.attempt < settings.maxAttempts) return { step: 'createPayment', send: [createPayment(order, order.context.paymentId!)], deadline: again('createPayment') };
      return { step: 'cancelPayment', send: [cancelPayment(order, `no payment result after ${d.attempt} attempts`)], deadline: { ...again('cancelPayment'), attempt: 1 } };
    case 'cancelPayment':
      return { step: 'cancelPayment', send: [cancelPayment(order, 'no payment result in time')], deadline: again('cancelPayment', backoff) };
    case 'commitInventory':
      return { step: 'commitInventory', send: [commit(order)], deadline: again('commitInventory', backoff) };
    case 'releaseInventory':
      return { step: 'releaseInventory', send: [release(order)], deadline: again('releaseInventory', backoff) };
  }
  return undefined;
}

