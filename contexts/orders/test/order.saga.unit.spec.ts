import { expect } from 'chai';
import type { Envelope } from '@tributary/runtime';
import { replay, type GivenEvent } from '../../../test/support/decider';
import { orderAggregate } from '../order.aggregate';
import { OrderEventType as E } from '../order.machine';
import { decideSaga, type SagaDecision } from '../order.saga';
import { OrderReply as R } from '../contract';

const settings = { stepTimeoutMs: 1000, maxAttempts: 3, compensationMaxDelayMs: 8000 };
const orderId = 'o1';
const paymentId = '1b6c5a0e-2f43-4a5e-8f0f-6e2f7d1c9a10';
const lineItems = [{ productId: 'SKU-1', name: 'Widget', quantity: 2, price: 10, tax: 1 }];
const created: GivenEvent = { type: E.ORDER_CREATED, data: { accountId: 'a1', lineItems, shippingAddress: {}, totalCents: 2200 } };
const connected: GivenEvent = { type: E.ACCOUNT_CONNECTED, data: { accountId: 'a1' } };
const pending: GivenEvent = { type: E.RESERVATION_PENDING };
const reserved: GivenEvent[] = [{ type: E.RESERVATION_ADDED, data: { reservationId: 'r1' } }, { type: E.RESERVATION_SUCCEEDED, data: { warehouseId: 'w1' } }];
const paymentCreated: GivenEvent = { type: E.PAYMENT_CREATED, data: { paymentId, amount: 22 } };
const paid: GivenEvent = { type: E.PAYMENT_SUCCEEDED };
const declined: GivenEvent = { type: E.PAYMENT_FAILED, data: { reason: 'payment declined: card declined' } };

function msg(type: string, data: Record<string, unknown> = {}): Envelope {
  return { id: 'm', type, stream: 'orders', actor: { type: 'order', id: orderId }, version: 0, correlationId: orderId, causationId: 'c', occurredAt: '', data };
}

/** given the order's log, when a message arrives, then the saga decides. */
function given(events: GivenEvent[], accountStatus = 'ACCOUNT_ACTIVE') {
  const order = replay(orderAggregate, orderId, events);
  return { when: (m: Envelope): SagaDecision | undefined => decideSaga(order, m, { accountStatus, newId: () => paymentId }, settings) };
}

const sentTypes = (d?: SagaDecision) => d?.send.map((m) => m.type);

describe('order saga decisions (given / when / then)', () => {
  it('connects an active account, fails the order of an inactive one', () => {
    expect(given([created]).when(msg(E.ORDER_CREATED))).to.include({ step: 'connectAccount' });
    const d = given([created], 'ACCOUNT_SUSPENDED').when(msg(E.ORDER_CREATED));
    expect(d?.command).to.deep.equal({ name: 'fail', input: { reason: 'Only active accounts can create an order' } });
  });

  it('reserves inventory with a deadline after the account is connected', () => {
    const d = given([created, connected]).when(msg(E.ACCOUNT_CONNECTED));
    expect(d?.command?.name).to.equal('requestReservation');
    expect(d?.send[0]).to.deep.include({ topic: 'warehouse.commands', type: 'RESERVE_INVENTORY' });
    expect(d?.send[0].data).to.deep.equal({ orderId, lines: [{ productId: 'SKU-1', quantity: 2 }] });
    expect(d?.deadline).to.deep.equal({ step: 'reserveInventory', attempt: 1, status: 'RESERVATION_PENDING', inMs: 1000 });
  });

  it('records a reservation and clears the deadline; a duplicate reply does nothing', () => {
    const d = given([created, connected, pending]).when(msg(R.INVENTORY_RESERVED, { orderId, warehouseId: 'w1', reservationIds: ['r1'] }));
    expect(d?.command).to.deep.equal({ name: 'reservationSucceeded', input: { warehouseId: 'w1', reservationIds: ['r1'] } });
    expect(d?.deadline).to.deep.include({ step: 'resume', status: 'RESERVATION_SUCCEEDED' });
    expect(given([created, connected, pending, ...reserved]).when(msg(R.INVENTORY_RESERVED, { reservationIds: ['r1'] }))).to.equal(undefined);
  });

  it('creates the payment for the total after the reservation', () => {
    const d = given([created, connected, pending, ...reserved]).when(msg(E.RESERVATION_SUCCEEDED));
    expect(d?.command).to.deep.equal({ name: 'createPayment', input: { paymentId } });
    expect(d?.send[0]).to.deep.include({ topic: 'payments.commands', type: 'CREATE_PAYMENT' });
    expect(d?.send[0].data).to.deep.equal({ orderId, paymentId, amount: 22 });
    expect(d?.send[0].actor).to.deep.equal({ type: 'payment', id: paymentId });
  });

  it('after the charge, sells the units; after that, the order succeeds', () => {
    const base = [created, connected, pending, ...reserved, paymentCreated];
    expect(given(base).when(msg(R.PAYMENT_CHARGED, { paymentId }))?.command?.name).to.equal('paymentSucceeded');
    expect(given(base).when(msg(R.PAYMENT_CHARGED, { paymentId: 'another' }))).to.equal(undefined);
    expect(sentTypes(given([...base, paid]).when(msg(E.PAYMENT_SUCCEEDED)))).to.deep.equal(['COMMIT_INVENTORY']);
    expect(given([...base, paid]).when(msg(R.INVENTORY_COMMITTED))?.command?.name).to.equal('complete');
  });

  it('compensates a failed reservation and a declined payment by releasing inventory, then fails the order', () => {
    const unavailable = given([created, connected, pending]).when(msg(R.INVENTORY_UNAVAILABLE, { reason: 'no warehouse has 2 × SKU-1 available' }));
    expect(unavailable?.command).to.deep.equal({ name: 'reservationFailed', input: { reason: 'no warehouse has 2 × SKU-1 available' } });
    const failed = [created, connected, pending, { type: E.RESERVATION_FAILED, data: { reason: 'no stock' } }];
    const release = given(failed).when(msg(E.RESERVATION_FAILED));
    expect(release?.step).to.equal('releaseInventory');
    expect(sentTypes(release)).to.deep.equal(['RELEASE_INVENTORY']);
    expect(given(failed).when(msg(R.INVENTORY_RELEASED))?.command).to.deep.equal({ name: 'fail', input: { reason: 'no stock' } });

    const base = [created, connected, pending, ...reserved, paymentCreated];
    expect(given(base).when(msg(R.PAYMENT_DECLINED, { paymentId, reason: 'card declined' }))?.command).to.deep.equal({
      name: 'paymentFailed',
      input: { reason: 'payment declined: card declined' },
    });
    expect(sentTypes(given([...base, declined]).when(msg(E.PAYMENT_FAILED)))).to.deep.equal(['RELEASE_INVENTORY']);
  });

  it('releases a reservation that succeeds after its order failed', () => {
    const failedOrder = [created, connected, pending, { type: E.RESERVATION_FAILED, data: { reason: 'timeout' } }, { type: E.ORDER_FAILED, data: { reason: 'timeout' } }];
    const d = given(failedOrder).when(msg(R.INVENTORY_RESERVED, { reservationIds: ['r9'] }));
    expect(sentTypes(d)).to.deep.equal(['RELEASE_INVENTORY']);
    expect(d?.command).to.equal(undefined);
    expect(d?.deadline).to.deep.include({ step: 'releaseInventory', status: 'ORDER_FAILED' });
    // Until the warehouse confirms, the deadline re-sends the release; then it is cleared.
    expect(sentTypes(given(failedOrder).when(msg('TIMER_FIRED', { step: 'releaseInventory', attempt: 1, status: 'ORDER_FAILED' })))).to.deep.equal(['RELEASE_INVENTORY']);
    expect(given(failedOrder).when(msg(R.INVENTORY_RELEASED, { orderId }))?.deadline).to.equal('clear');
  });

  it('re-sends a step on its deadline, then gives up and compensates', () => {
    const waiting = [created, connected, pending];
    const fire = (attempt: number) => msg('TIMER_FIRED', { name: 'deadline', step: 'reserveInventory', attempt, status: 'RESERVATION_PENDING' });
    const again = given(waiting).when(fire(1));
    expect(sentTypes(again)).to.deep.equal(['RESERVE_INVENTORY']);
    expect(again?.deadline).to.deep.include({ step: 'reserveInventory', attempt: 2 });
    const giveUp = given(waiting).when(fire(3));
    expect(giveUp?.command?.name).to.equal('reservationFailed');
    expect(giveUp?.send).to.deep.equal([]);
  });

  it('ignores a deadline that fires after its step was answered', () => {
    const fired = msg('TIMER_FIRED', { step: 'reserveInventory', attempt: 1, status: 'RESERVATION_PENDING' });
    expect(given([created, connected, pending, ...reserved]).when(fired)).to.equal(undefined);
  });

  it('cancels a payment that never answers, and keeps cancelling with backoff until it is answered', () => {
    const base = [created, connected, pending, ...reserved, paymentCreated];
    const fire = (step: string, attempt: number) => msg('TIMER_FIRED', { step, attempt, status: 'PAYMENT' });
    expect(sentTypes(given(base).when(fire('createPayment', 1)))).to.deep.equal(['CREATE_PAYMENT']);
    const cancel = given(base).when(fire('createPayment', 3));
    expect(sentTypes(cancel)).to.deep.equal(['CANCEL_PAYMENT']);
    expect(cancel?.deadline).to.deep.include({ step: 'cancelPayment', attempt: 1 });
    const later = given(base).when(fire('cancelPayment', 4));
    expect(sentTypes(later)).to.deep.equal(['CANCEL_PAYMENT']);
    expect((later?.deadline as { inMs: number }).inMs).to.equal(8000); // capped backoff
  });

  it("resumes from the state when the order's own event was lost (e.g. Redis lost its data)", () => {
    const fire = (status: string) => msg('TIMER_FIRED', { step: 'resume', attempt: 1, status });
    expect(given([created]).when(fire('ORDER_CREATED'))?.step).to.equal('connectAccount');
    expect(given([created, connected]).when(fire('ACCOUNT_CONNECTED'))?.step).to.equal('reserveInventory');
    expect(given([created, connected, pending, ...reserved]).when(fire('RESERVATION_SUCCEEDED'))?.step).to.equal('createPayment');
    expect(sentTypes(given([created, connected, pending, { type: E.RESERVATION_FAILED, data: { reason: 'x' } }]).when(fire('RESERVATION_FAILED')))).to.deep.equal(['RELEASE_INVENTORY']);
    // Stale: the order moved on since the deadline was set.
    expect(given([created, connected, pending]).when(fire('ACCOUNT_CONNECTED'))).to.equal(undefined);
  });

  it('never gives up on a compensation', () => {
    const failed = [created, connected, pending, { type: E.RESERVATION_FAILED, data: { reason: 'x' } }];
    const d = given(failed).when(msg('TIMER_FIRED', { step: 'releaseInventory', attempt: 50, status: 'RESERVATION_FAILED' }));
    expect(sentTypes(d)).to.deep.equal(['RELEASE_INVENTORY']);
    expect(d?.deadline).to.deep.include({ step: 'releaseInventory', attempt: 51 });
  });
});
