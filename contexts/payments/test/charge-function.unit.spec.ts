import { expect } from 'chai';
import { functionSettings, isDue } from '../../../runtime/functions';
import { paymentAggregate } from '../payment.aggregate';
import { CHARGE_PAYMENT, chargeOnPending, chargePayment } from '../charge-function';
import { loadPaymentsConfig } from '../config';
import { CREDIT_CARD, PaymentEventType as E } from '../payment.machine';
import type { ChargeRequest, ChargeResult, PaymentGateway } from '../gateway';
import { replay, type GivenEvent } from '../../../test/support/decider';

const paymentId = '00000000-0000-4000-8000-0000000000aa';
const orderId = '6f1c1a52-7f43-4c55-9b0e-3a1f3e0c9a11';
const created: GivenEvent = { type: E.PAYMENT_CREATED, data: { orderId, amount: 42.5, paymentMethod: CREDIT_CARD } };
const connected: GivenEvent = { type: E.ORDER_CONNECTED, data: { orderId } };
const pending: GivenEvent = { type: E.PAYMENT_PENDING };
const state = (...events: GivenEvent[]) => replay(paymentAggregate, paymentId, events);

/** A gateway that records what it is asked and approves. */
class RecordingGateway implements PaymentGateway {
  readonly charged: ChargeRequest[] = [];
  async charge(request: ChargeRequest): Promise<ChargeResult> {
    this.charged.push(request);
    return { approved: true, chargeId: `ch-${request.paymentId}` };
  }
  async lookup() {
    return undefined;
  }
  async refund() {}
}

describe('chargePayment, the function bound to PAYMENT_PENDING', () => {
  it('is owed only while the payment is pending', () => {
    expect(isDueIn(created)).to.equal(false);
    expect(isDueIn(created, connected)).to.equal(false);
    expect(isDueIn(created, connected, pending)).to.equal(true);
    expect(isDueIn(created, connected, pending, { type: E.PAYMENT_PROCESSED, data: { chargeId: 'c' } }, { type: E.PAYMENT_SUCCEEDED })).to.equal(false);
    expect(isDueIn(created, connected, pending, { type: E.PAYMENT_FAILED, data: { reason: 'cancelled' } })).to.equal(false);
  });

  it('charges the payment amount, keyed by the payment id (the same on every retry)', () => {
    const s = state(created, connected, pending);
    expect(chargeOnPending.input(s)).to.deep.equal({ paymentId, amount: 42.5 });
    expect(chargeOnPending.idempotencyKey(s)).to.equal(paymentId);
    expect(chargeOnPending.function).to.equal(CHARGE_PAYMENT);
  });

  it('defaults to the charge job with the payments settings; FUNCTIONS overrides them', () => {
    const cfg = loadPaymentsConfig({ PAYMENT_GATEWAY_TIMEOUT_MS: '1234', PAYMENT_CHARGE_ATTEMPTS: '7', PAYMENT_CHARGE_BACKOFF_MS: '50' });
    const fn = chargePayment(new RecordingGateway(), cfg);
    expect(fn.defaults).to.deep.equal({ mode: 'job', timeoutMs: 1234, attempts: 7, backoffMs: 50 });
    const env = { FUNCTIONS: '{"chargePayment":{"mode":"http","url":"http://fn.local/chargePayment"}}' };
    expect(functionSettings(fn.name, fn.defaults, env)).to.deep.equal({ mode: 'http', url: 'http://fn.local/chargePayment', timeoutMs: 1234, attempts: 7, backoffMs: 50 });
  });

  it('runs the gateway in process, and its schemas refuse what the gateway would not take or give', async () => {
    const gateway = new RecordingGateway();
    const fn = chargePayment(gateway, loadPaymentsConfig({}));
    const answer = await fn.handler({ paymentId, amount: 42.5 }, { idempotencyKey: paymentId, attempt: 1, signal: new AbortController().signal });
    expect(answer).to.deep.equal({ approved: true, chargeId: `ch-${paymentId}` });
    expect(gateway.charged).to.deep.equal([{ paymentId, amount: 42.5 }]);
    expect(fn.input.safeParse({ paymentId: 'nope', amount: 1 }).success).to.equal(false);
    expect(fn.output.safeParse({ approved: true }).success, 'an approval without a charge id').to.equal(false);
    expect(fn.output.safeParse({ approved: false, reason: 'card declined' }).success).to.equal(true);
  });
});

function isDueIn(...events: GivenEvent[]): boolean {
  return isDue(chargeOnPending, state(...events));
}
