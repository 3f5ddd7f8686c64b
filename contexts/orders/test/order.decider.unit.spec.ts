import { expect } from 'chai';
import { replay, specFor, type GivenEvent } from '../../../test/support/decider';
import { orderAggregate, totalCents } from '../order.aggregate';
import { OrderEventType as E } from '../order.machine';

const accountId = '7f1c0d52-6d2f-4a7e-9c55-0a4c1b9d1e01';
const paymentId = '1b6c5a0e-2f43-4a5e-8f0f-6e2f7d1c9a10';
const draft = {
  accountId,
  lineItems: [
    { productId: 'SKU-1', name: 'Widget', quantity: 2, price: 10.5, tax: 0.84 },
    { productId: 'SKU-2', name: 'Gadget', quantity: 1, price: 3, tax: 0.24 },
  ],
  shippingAddress: { street1: '1 Main St', city: 'Springfield', state: 'OR', country: 'US', zipCode: '97477' },
};
const created: GivenEvent = { type: E.ORDER_CREATED, data: { ...draft, totalCents: 2592 } };
/** What the terminal events carry (OrderSummary): the order as placed. */
const summary = { accountId, lineItems: draft.lineItems, shippingAddress: draft.shippingAddress, total: 25.92 };
const connected: GivenEvent = { type: E.ACCOUNT_CONNECTED, data: { accountId } };
const pending: GivenEvent = { type: E.RESERVATION_PENDING };
const reserved: GivenEvent[] = [
  { type: E.RESERVATION_ADDED, data: { reservationId: 'r1' } },
  { type: E.RESERVATION_SUCCEEDED, data: { warehouseId: 'w1' } },
];
const paymentCreated: GivenEvent = { type: E.PAYMENT_CREATED, data: { paymentId, amount: 25.92 } };
const accepted: GivenEvent[] = [{ type: E.PAYMENT_CONNECTED, data: { paymentId } }, { type: E.PAYMENT_PENDING }];

const spec = specFor(orderAggregate, 'o1');

describe('order aggregate (given / when / then)', () => {
  it('totals Σ (price + tax) × quantity in cents', () => {
    expect(totalCents(draft.lineItems)).to.equal(2 * (1050 + 84) + (300 + 24));
  });

  it('places an order with its total', () => {
    const state = spec.given().when('place', draft).then([created]);
    expect(state.status).to.equal('ORDER_CREATED');
    expect(state.context.totalCents).to.equal(2592);
  });

  it('rejects an order without line items, with zero quantity, or with a negative price (400)', () => {
    spec.given().when('place', { ...draft, lineItems: [] }).thenRejects(400);
    spec.given().when('place', { ...draft, lineItems: [{ ...draft.lineItems[0], quantity: 0 }] }).thenRejects(400);
    spec.given().when('place', { ...draft, lineItems: [{ ...draft.lineItems[0], price: -1 }] }).thenRejects(400);
    spec.given().when('place', { ...draft, shippingAddress: { street1: 'x' } }).thenRejects(400);
  });

  it('connects the account only once', () => {
    spec.given([created]).when('connectAccount').then([connected]);
    spec.given([created, connected]).when('connectAccount').thenRejects('Order must be in a created state');
  });

  it('fails straight from ORDER_CREATED when the account is not active', () => {
    const s = spec.given([created]).when('fail', { reason: 'Only active accounts can create an order' }).then([
      { type: E.ORDER_FAILED, data: { reason: 'Only active accounts can create an order', ...summary } },
    ]);
    expect(s.status).to.equal('ORDER_FAILED');
    expect(s.context.failureReason).to.equal('Only active accounts can create an order');
  });

  it('requests a reservation only when connected', () => {
    spec.given([created, connected]).when('requestReservation').then([pending]);
    spec.given([created]).when('requestReservation').thenRejects('The order must be connected to an account');
  });

  it('records every reservation and then success, in one command', () => {
    const s = spec.given([created, connected, pending]).when('reservationSucceeded', { warehouseId: 'w1', reservationIds: ['r1', 'r2'] }).then([
      { type: E.RESERVATION_ADDED, data: { reservationId: 'r1' } },
      { type: E.RESERVATION_ADDED, data: { reservationId: 'r2' } },
      { type: E.RESERVATION_SUCCEEDED, data: { warehouseId: 'w1' } },
    ]);
    expect(s.context.reservationIds).to.deep.equal(['r1', 'r2']);
    expect(s.version).to.equal(6);
  });

  it('refuses a second reservation result', () => {
    spec.given([created, connected, pending, ...reserved]).when('reservationSucceeded', { warehouseId: 'w1', reservationIds: ['r1'] }).thenRejects('Inventory has already been reserved');
    spec.given([created, connected, pending, ...reserved]).when('reservationFailed', { reason: 'x' }).thenRejects(409);
  });

  it('goes through the payment states to ORDER_SUCCEEDED', () => {
    spec.given([created, connected, pending, ...reserved]).when('createPayment', { paymentId }).then([paymentCreated]);
    spec.given([created, connected, pending, ...reserved, paymentCreated]).when('paymentAccepted').then(accepted);
    spec.given([created, connected, pending, ...reserved, paymentCreated, ...accepted]).when('paymentSucceeded').then([{ type: E.PAYMENT_SUCCEEDED, data: { paymentId } }]);
    const s = spec
      .given([created, connected, pending, ...reserved, paymentCreated, ...accepted, { type: E.PAYMENT_SUCCEEDED, data: { paymentId } }])
      .when('complete')
      .then([{ type: E.ORDER_SUCCEEDED, data: summary }]);
    expect(s.status).to.equal('ORDER_SUCCEEDED');
  });

  it('a charge may be reported before the payment was accepted', () => {
    spec.given([created, connected, pending, ...reserved, paymentCreated]).when('paymentSucceeded').then([{ type: E.PAYMENT_SUCCEEDED, data: { paymentId } }]);
  });

  it('compensates a declined payment: PAYMENT_FAILED, then ORDER_FAILED keeps the reason (seed bug 2 fixed)', () => {
    const base = [created, connected, pending, ...reserved, paymentCreated, ...accepted];
    spec.given(base).when('paymentFailed', { reason: 'payment declined: card declined' }).then([{ type: E.PAYMENT_FAILED, data: { reason: 'payment declined: card declined' } }]);
    const s = spec
      .given([...base, { type: E.PAYMENT_FAILED, data: { reason: 'payment declined: card declined' } }])
      .when('fail', { reason: 'payment declined: card declined' })
      .then([{ type: E.ORDER_FAILED, data: { reason: 'payment declined: card declined', ...summary } }]);
    expect(s.status).to.equal('ORDER_FAILED');
    expect(s.context.failureReason).to.equal('payment declined: card declined');
  });

  it('cannot complete an order that has not been paid, nor fail a finished one', () => {
    spec.given([created, connected, pending, ...reserved]).when('complete').thenRejects('Order must be in a terminal state');
    spec
      .given([created, connected, pending, ...reserved, paymentCreated, { type: E.PAYMENT_SUCCEEDED }, { type: E.ORDER_SUCCEEDED }])
      .when('fail', { reason: 'late' })
      .thenRejects(409);
  });

  it('folds logs written before the terminal events carried a summary (data is additive)', () => {
    const paid = [created, connected, pending, ...reserved, paymentCreated, ...accepted, { type: E.PAYMENT_SUCCEEDED, data: { paymentId } }];
    const succeeded = replay(orderAggregate, 'o1', [...paid, { type: E.ORDER_SUCCEEDED, data: {} }]);
    expect(succeeded.status).to.equal('ORDER_SUCCEEDED');
    expect(succeeded.context.lineItems).to.deep.equal(draft.lineItems);
    const failed = replay(orderAggregate, 'o1', [created, { type: E.ORDER_FAILED, data: { reason: 'old' } }]);
    expect([failed.status, failed.context.failureReason]).to.deep.equal(['ORDER_FAILED', 'old']);
  });
});
