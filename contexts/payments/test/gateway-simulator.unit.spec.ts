import { expect } from 'chai';
import { CARD_DECLINED, RANDOM_DECLINE, simulatedOutcome } from '../gateway-simulator';
import { GatewayTimeoutError, withTimeout } from '../gateway';
import { loadPaymentsConfig } from '../config';
import { StartupError } from '../../../runtime/errors';

describe('payment gateway simulator rules', () => {
  it('declines an amount whose cents are .01', () => {
    for (const amount of [0.01, 10.01, 1234.01]) expect(simulatedOutcome(amount, 0)).to.deep.equal({ kind: 'decline', reason: CARD_DECLINED });
  });

  it('never answers an amount whose cents are .02', () => {
    for (const amount of [0.02, 10.02, 99.02]) expect(simulatedOutcome(amount, 0)).to.deep.equal({ kind: 'no-answer' });
  });

  it('approves every other amount when the decline rate is 0', () => {
    for (const amount of [0, 0.1, 0.11, 0.21, 10, 10.03, 10.99, 42.5]) expect(simulatedOutcome(amount, 0)).to.deep.equal({ kind: 'approve' });
  });

  it('decides on exact cents, not float noise (0.1 + 0.2 - 0.29 is about .01)', () => {
    expect(simulatedOutcome(0.1 + 0.2 - 0.29, 0)).to.deep.equal({ kind: 'decline', reason: CARD_DECLINED });
  });

  it('declines at random with the configured rate', () => {
    expect(simulatedOutcome(10, 0.5, () => 0.49)).to.deep.equal({ kind: 'decline', reason: RANDOM_DECLINE });
    expect(simulatedOutcome(10, 0.5, () => 0.5)).to.deep.equal({ kind: 'approve' });
    expect(simulatedOutcome(10, 1, () => 0.999)).to.deep.equal({ kind: 'decline', reason: RANDOM_DECLINE });
  });

  it('keeps the deterministic rules ahead of the random rate', () => {
    expect(simulatedOutcome(10.02, 1, () => 0)).to.deep.equal({ kind: 'no-answer' });
  });
});

describe('gateway call timeout', () => {
  it('aborts a call that does not answer in time and throws GatewayTimeoutError', async () => {
    let aborted = false;
    const started = Date.now();
    const call = withTimeout(30, 'charge', (signal) =>
      new Promise<never>((_, reject) => signal.addEventListener('abort', () => { aborted = true; reject(new Error('aborted')); })),
    );
    const error = await call.then(() => undefined, (err: unknown) => err);
    expect(error).to.be.instanceOf(GatewayTimeoutError);
    expect((error as Error).message).to.match(/did not answer charge within 30 ms/);
    expect(aborted).to.equal(true);
    expect(Date.now() - started).to.be.at.least(25);
  });

  it('returns an answer given in time', async () => {
    expect(await withTimeout(1_000, 'charge', async () => 'ok')).to.equal('ok');
  });
});

describe('payments config', () => {
  it('has documented defaults', () => {
    expect(loadPaymentsConfig({})).to.deep.equal({
      gatewayTimeoutMs: 5_000, gatewayLatencyMs: 0, declineRate: 0, chargeAttempts: 5, chargeBackoffMs: 500, chargeConcurrency: 16,
    });
  });

  it('reads the environment', () => {
    const cfg = loadPaymentsConfig({ PAYMENT_GATEWAY_TIMEOUT_MS: '300', PAYMENT_DECLINE_RATE: '0.25', PAYMENT_CHARGE_ATTEMPTS: '3' });
    expect(cfg).to.include({ gatewayTimeoutMs: 300, declineRate: 0.25, chargeAttempts: 3 });
  });

  for (const [key, value] of [
    ['PAYMENT_DECLINE_RATE', '1.5'],
    ['PAYMENT_DECLINE_RATE', 'often'],
    ['PAYMENT_GATEWAY_TIMEOUT_MS', '0'],
    ['PAYMENT_GATEWAY_LATENCY_MS', '-5'],
    ['PAYMENT_CHARGE_ATTEMPTS', '2.5'],
  ]) {
    it(`rejects ${key}=${value} with one line naming the variable`, () => {
      expect(() => loadPaymentsConfig({ [key]: value })).to.throw(StartupError, new RegExp(`^Invalid ${key}="${value.replace('.', '\\.')}": [^\\n]+$`));
    });
  }
});
