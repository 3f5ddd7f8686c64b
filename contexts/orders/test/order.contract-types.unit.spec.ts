/**
 * The typed contracts, checked by the compiler: every `@ts-expect-error` below is a payload or
 * a message type that `tsc` must refuse (`npm run typecheck` fails if one is accepted, since an
 * unused `@ts-expect-error` is an error). The tests then run what was declared.
 */
import { expect } from 'chai';
import { z } from 'zod';
import { defineAggregate, defineSubscription, type ReactionContext, type Subscription } from '@tributary/runtime';
import { ordersCommandsTopic, ordersTopic, type OrderSummary } from '../contract';
import { orderMachine, OrderEventType as E, type OrderContext, type OrderEvent } from '../order.machine';

const reject = () => 'refused';

/** Commands whose payloads tsc checks against the order's event union. */
const typed = defineAggregate<OrderContext, OrderEvent>({
  type: 'order-typecheck',
  topic: 'order-typecheck',
  machine: orderMachine,
  commands: {
    connect: { event: E.ACCOUNT_CONNECTED, data: (_: unknown, s) => ({ accountId: s.context.accountId }), rejection: reject },
    // @ts-expect-error ACCOUNT_CONNECTED carries { accountId: string }, not a number
    connectWrong: { event: E.ACCOUNT_CONNECTED, data: () => ({ accountId: 42 }), rejection: reject },
    // @ts-expect-error ORDER_SUCCEEDED carries the order's summary: an empty payload is refused
    completeEmpty: { event: E.ORDER_SUCCEEDED, data: () => ({}), rejection: reject },
    // @ts-expect-error no such event in the order's union
    unknownEvent: { event: 'ORDER_SHIPPED', rejection: reject },
    reserve: {
      event: E.RESERVATION_ADDED,
      input: z.object({ reservationId: z.string() }),
      decide: (i: { reservationId: string }): OrderEvent[] => [
        { type: E.RESERVATION_ADDED, data: { reservationId: i.reservationId } },
        // @ts-expect-error RESERVATION_SUCCEEDED needs a warehouseId, not a reservationId
        { type: E.RESERVATION_SUCCEEDED, data: { reservationId: i.reservationId } },
      ],
      rejection: reject,
    },
  },
});

/** What a shipping context would do with a succeeded order, typed by the orders contract. */
const seen: string[] = [];
const shipping: Subscription = defineSubscription({
  name: 'shipping',
  topics: [ordersTopic],
  types: [E.ORDER_SUCCEEDED, E.ORDER_FAILED],
  async handle({ message }) {
    if (message.type === E.ORDER_SUCCEEDED) {
      const summary: OrderSummary = message.data;
      seen.push(`${summary.shippingAddress.city}:${summary.lineItems.length}:${summary.total}`);
      // @ts-expect-error ORDER_SUCCEEDED has no reason (narrowed by message.type)
      seen.push(message.data.reason);
    } else {
      seen.push(`failed:${message.data.reason}`);
    }
  },
});

defineSubscription({
  name: 'wrong-type',
  topics: [ordersTopic],
  // @ts-expect-error the orders topic publishes no ORDER_SHIPPED
  types: ['ORDER_SHIPPED'],
  async handle() {},
});

/** Two topics: the union of both maps, replies and timers included. */
const saga = defineSubscription({
  name: 'two-topics',
  topics: [ordersTopic, ordersCommandsTopic],
  types: [E.ORDER_CREATED, 'PAYMENT_DECLINED', 'TIMER_FIRED'],
  async handle({ message }) {
    if (message.type === 'PAYMENT_DECLINED') seen.push(message.data.reason);
    else if (message.type === 'TIMER_FIRED') seen.push(message.data.name);
    else seen.push(String(message.data.totalCents));
  },
});

const address = { street1: '1 Main St', city: 'Springfield', state: 'OR', country: 'US', zipCode: '97477' };
const line = { productId: 'SKU-1', name: 'Widget', quantity: 2, price: 10.5, tax: 0.84 };

function deliver(subscription: Subscription, type: string, data: unknown) {
  const message = { id: 'm', type, stream: 'orders', actor: { type: 'order', id: 'o1' }, version: 1, correlationId: 'o1', causationId: 'o1', occurredAt: '', data };
  return subscription.handle({ message } as unknown as ReactionContext);
}

describe('typed contracts (tsc checks the @ts-expect-error lines of this file)', () => {
  it('keeps the declared commands and topics as the runtime sees them', () => {
    expect(Object.keys(typed.commands)).to.include.members(['connect', 'reserve']);
    expect(shipping.topics).to.deep.equal(['orders']);
    expect(shipping.types).to.deep.equal(['ORDER_SUCCEEDED', 'ORDER_FAILED']);
    expect(saga.topics).to.deep.equal(['orders', 'orders.commands']);
  });

  it('hands a typed reaction the message as delivered', async () => {
    seen.length = 0;
    await deliver(shipping, 'ORDER_FAILED', { reason: 'declined', accountId: 'a', lineItems: [line], shippingAddress: address, total: 22.68 });
    await deliver(saga, 'TIMER_FIRED', { name: 'deadline' });
    expect(seen).to.deep.equal(['failed:declined', 'deadline']);
  });
});
