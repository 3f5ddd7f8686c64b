import { expect } from 'chai';
import { paymentAggregate } from '../payment.aggregate';
import { PaymentStatus as S } from '../contract';
import { CREDIT_CARD, PaymentEventType as E } from '../payment.machine';
import { ActorSystem } from '../../../runtime/actors/actor-system';
import { CorruptStreamError } from '../../../runtime/actors/machine-state';
import { Topology } from '../../../runtime/messaging/topology';
import { ValidationError } from '../../../runtime/errors';
import { replay, specFor, type GivenEvent } from '../../../test/support/decider';

const orderId = '6f1c1a52-7f43-4c55-9b0e-3a1f3e0c9a11';
const created: GivenEvent = { type: E.PAYMENT_CREATED, data: { orderId, amount: 42.5, paymentMethod: CREDIT_CARD } };
const connected: GivenEvent = { type: E.ORDER_CONNECTED, data: { orderId } };
const pending: GivenEvent = { type: E.PAYMENT_PENDING };
const processed: GivenEvent = { type: E.PAYMENT_PROCESSED, data: { chargeId: 'ch-1' } };
const succeeded: GivenEvent = { type: E.PAYMENT_SUCCEEDED };
const failed = (reason = 'card declined'): GivenEvent => ({ type: E.PAYMENT_FAILED, data: { reason } });
const refunded: GivenEvent = { type: E.PAYMENT_REFUNDED, data: { chargeId: 'ch-9' } };

/** Logs that lead to each status. */
const logs: Record<string, GivenEvent[]> = {
  [S.PAYMENT_CREATED]: [created],
  [S.ORDER_CONNECTED]: [created, connected],
  [S.PAYMENT_PENDING]: [created, connected, pending],
  [S.PAYMENT_PROCESSED]: [created, connected, pending, processed],
  [S.PAYMENT_SUCCEEDED]: [created, connected, pending, processed, succeeded],
  [S.PAYMENT_FAILED]: [created, connected, pending, failed()],
};
const existing = Object.keys(logs);

const payment = specFor(paymentAggregate, 'p1');

describe('payment aggregate (given / when / then)', () => {
  describe('create (CREATE_PAYMENT)', () => {
    it('creates the payment connected to its order, pending its charge', () => {
      const state = payment.given([]).when('create', { orderId, amount: 42.5 }).then([created, connected, pending]);
      expect(state.status).to.equal(S.PAYMENT_PENDING);
      expect(state.version).to.equal(3);
      expect(state.context).to.include({ orderId, amountCents: 4250, paymentMethod: CREDIT_CARD, chargeId: null, failureReason: null });
    });

    it('keeps the amount exact in cents', () => {
      const state = payment.given([]).when('create', { orderId, amount: 0.29 }).then([
        { type: E.PAYMENT_CREATED, data: { orderId, amount: 0.29, paymentMethod: CREDIT_CARD } }, connected, pending,
      ]);
      expect(state.context.amountCents).to.equal(29);
    });

    for (const status of existing) {
      it(`is refused when ${status}`, () => {
        payment.given(logs[status]).when('create', { orderId, amount: 1 }).thenRejects('Payment has already been created');
      });
    }

    for (const [what, input] of [
      ['a negative amount', { orderId, amount: -1 }],
      ['more than 2 decimals', { orderId, amount: 1.005 }],
      ['an amount that is not a number', { orderId, amount: '12' }],
      ['a missing orderId', { amount: 1 }],
      ['an orderId that is not a UUID', { orderId: 'o-1', amount: 1 }],
    ] as const) {
      it(`rejects ${what} before deciding`, () => {
        expect(() => payment.given([]).when('create', input).then([])).to.throw(ValidationError);
      });
    }
  });

  describe('cancelUnknown (CANCEL_PAYMENT before CREATE_PAYMENT)', () => {
    it('records the payment as failed, with no amount', () => {
      const state = payment.given([]).when('cancelUnknown', { orderId, reason: 'deadline passed' }).then([
        { type: E.PAYMENT_FAILED, data: { orderId, reason: 'deadline passed' } },
      ]);
      expect(state.status).to.equal(S.PAYMENT_FAILED);
      expect(state.context).to.include({ orderId, amountCents: null, failureReason: 'deadline passed' });
    });

    it('leaves a late create nothing to charge', () => {
      payment
        .given([{ type: E.PAYMENT_FAILED, data: { orderId, reason: 'deadline passed' } }])
        .when('create', { orderId, amount: 1 })
        .thenRejects('Payment has already been created');
    });

    for (const status of existing) {
      it(`is refused when ${status}`, () => {
        payment.given(logs[status]).when('cancelUnknown', { orderId, reason: 'x' }).thenRejects('Payment has already been created');
      });
    }
  });

  describe('recordCharge (the gateway approved)', () => {
    it('processes and succeeds the pending payment in one command', () => {
      const state = payment.given(logs[S.PAYMENT_PENDING]).when('recordCharge', { chargeId: 'ch-1' }).then([processed, succeeded]);
      expect(state.status).to.equal(S.PAYMENT_SUCCEEDED);
      expect(state.context.chargeId).to.equal('ch-1');
    });

    for (const status of [S.PAYMENT_SUCCEEDED, S.PAYMENT_FAILED, S.PAYMENT_PROCESSED]) {
      it(`is refused when ${status}`, () => {
        payment.given(logs[status]).when('recordCharge', { chargeId: 'ch-2' }).thenRejects('Payment has already been processed');
      });
    }

    for (const status of [S.PAYMENT_CREATED, S.ORDER_CONNECTED]) {
      it(`is refused when ${status} (not pending yet)`, () => {
        payment.given(logs[status]).when('recordCharge', { chargeId: 'ch-2' }).thenRejects('Payment must be pending');
      });
    }
  });

  describe('fail (declined, cancelled, or the gateway never answered)', () => {
    for (const status of [S.PAYMENT_CREATED, S.ORDER_CONNECTED, S.PAYMENT_PENDING]) {
      it(`fails the payment when ${status}, keeping the reason`, () => {
        const state = payment.given(logs[status]).when('fail', { reason: 'card declined' }).then([failed('card declined')]);
        expect(state.status).to.equal(S.PAYMENT_FAILED);
        expect(state.context.failureReason).to.equal('card declined');
        expect(state.context.orderId).to.equal(orderId);
      });
    }

    it('is refused once succeeded: an approved charge is final', () => {
      payment.given(logs[S.PAYMENT_SUCCEEDED]).when('fail', { reason: 'cancel' }).thenRejects('Payment has already succeeded');
    });

    it('is refused while processed', () => {
      payment.given(logs[S.PAYMENT_PROCESSED]).when('fail', { reason: 'cancel' }).thenRejects('Payment has already succeeded');
    });

    it('is refused once failed', () => {
      payment.given(logs[S.PAYMENT_FAILED]).when('fail', { reason: 'again' }).thenRejects('Payment has already failed');
    });

    it('needs a reason', () => {
      expect(() => payment.given(logs[S.PAYMENT_PENDING]).when('fail', { reason: ' ' }).then([])).to.throw(ValidationError, /reason is required/);
    });
  });

  describe('recordRefund (a charge approved after the payment failed)', () => {
    it('records the refund on the failed payment, whose status stays failed', () => {
      const state = payment.given(logs[S.PAYMENT_FAILED]).when('recordRefund', { chargeId: 'ch-9' }).then([refunded]);
      expect(state.status).to.equal(S.PAYMENT_FAILED);
      expect(state.context.refundedChargeId).to.equal('ch-9');
    });

    it('is refused a second time', () => {
      payment.given([...logs[S.PAYMENT_FAILED], refunded]).when('recordRefund', { chargeId: 'ch-9' }).thenRejects('The charge has already been refunded');
    });

    for (const status of [S.PAYMENT_CREATED, S.ORDER_CONNECTED, S.PAYMENT_PENDING, S.PAYMENT_PROCESSED, S.PAYMENT_SUCCEEDED]) {
      it(`is refused when ${status}`, () => {
        payment.given(logs[status]).when('recordRefund', { chargeId: 'ch-9' }).thenRejects('Only a failed payment is refunded');
      });
    }
  });

  describe('replay', () => {
    it('folds every reachable log to its status', () => {
      for (const status of existing) expect(replay(paymentAggregate, 'p1', logs[status]).status).to.equal(status);
    });

    it('throws CorruptStreamError on an event the state cannot accept', () => {
      expect(() => replay(paymentAggregate, 'p1', [created, connected, pending, succeeded])).to.throw(CorruptStreamError, /PAYMENT_SUCCEEDED \(v4\)/);
      expect(() => replay(paymentAggregate, 'p1', [...logs[S.PAYMENT_SUCCEEDED], failed()])).to.throw(CorruptStreamError);
      expect(() => replay(paymentAggregate, 'p1', [pending])).to.throw(CorruptStreamError);
    });
  });

  describe('allowed commands (GET .../commands)', () => {
    const actors = new ActorSystem(undefined as never, new Topology('x:', 4), 0);
    actors.register(paymentAggregate);
    it('lists none in any state: payments are driven by the saga, not by clients', () => {
      for (const status of existing) expect(actors.allowedCommands('payment', replay(paymentAggregate, 'p1', logs[status]))).to.deep.equal([]);
    });
  });
});
