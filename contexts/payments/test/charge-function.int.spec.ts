/**
 * Where `chargePayment` runs is configuration: the same payments runtime (Postgres, Redis,
 * BullMQ) with `FUNCTIONS` set to `inline` (retried in place, inside one attempt of the charge
 * job) and to `http` against an endpoint that refuses the charge (4xx: the payment fails at
 * once, never retried). The default (`job`) is covered by payments.int.spec.ts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Runtime } from '../../../runtime/roles';
import { eventually, messagesTo, startTestRuntime } from '../../../test/support/runtime';
import { ORDERS_COMMANDS_TOPIC, OrderReply } from '../../orders/contract';
import { PAYMENT, PAYMENTS_COMMANDS_TOPIC, PaymentCommand, PaymentStatus as S } from '../contract';
import type { PaymentContext } from '../payment.machine';
import { CHARGE_QUEUE } from '../charge-queue';
import { CHARGE_REFUSED, GATEWAY_UNAVAILABLE } from '../charge-job';

describe('chargePayment where FUNCTIONS says (integration)', function () {
  this.timeout(30_000);
  let runtime: Runtime;
  const saved: Record<string, string | undefined> = {};
  const setEnv = (values: Record<string, string>) => {
    for (const [k, v] of Object.entries(values)) {
      if (!(k in saved)) saved[k] = process.env[k];
      process.env[k] = v;
    }
  };

  before(async () => {
    setEnv({ PAYMENT_GATEWAY_TIMEOUT_MS: '300', PAYMENT_CHARGE_ATTEMPTS: '2', PAYMENT_CHARGE_BACKOFF_MS: '100' });
    runtime = await startTestRuntime('payments_fn', { CONTEXTS: 'payments' });
  });

  after(async () => {
    await runtime?.stop();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  async function create(amount: number) {
    const orderId = randomUUID();
    const paymentId = randomUUID();
    await runtime.services.db.transaction((tx) =>
      runtime.services.actors.send(tx, [{ topic: PAYMENTS_COMMANDS_TOPIC, type: PaymentCommand.CREATE_PAYMENT, actor: { type: PAYMENT, id: paymentId }, data: { orderId, paymentId, amount } }], {
        correlationId: orderId,
        causationId: randomUUID(),
      }),
    );
    return { orderId, paymentId };
  }
  const replyTypes = (orderId: string, count: number) =>
    eventually(async () => {
      const types = (await messagesTo(runtime, ORDERS_COMMANDS_TOPIC, orderId)).map((r) => r.type);
      return types.length >= count && types;
    }, 15_000);
  const job = (paymentId: string) => runtime.services.jobs.queue(CHARGE_QUEUE).getJob(paymentId);
  const finished = (paymentId: string) =>
    eventually(async () => {
      const j = await job(paymentId);
      return j && (await j.getState()) === 'completed' && j;
    }, 15_000);
  const payment = (id: string) => runtime.services.actors.load<PaymentContext>(PAYMENT, id);

  it('inline: charges in the job, in one attempt', async () => {
    setEnv({ FUNCTIONS: JSON.stringify({ chargePayment: { mode: 'inline', timeoutMs: 150, attempts: 3, backoffMs: 20 } }) });
    const { orderId, paymentId } = await create(42.5);
    expect(await replyTypes(orderId, 2)).to.deep.equal([OrderReply.PAYMENT_ACCEPTED, OrderReply.PAYMENT_CHARGED]);
    const j = await finished(paymentId);
    expect(j.attemptsMade).to.equal(1);
    expect(j.returnvalue).to.equal('charged');
  });

  it('inline: retries a call that times out in place (3 calls per job attempt), then the job retries, then the payment fails', async () => {
    setEnv({ FUNCTIONS: JSON.stringify({ chargePayment: { mode: 'inline', timeoutMs: 150, attempts: 3, backoffMs: 20 } }) });
    const started = Date.now();
    // The simulator never answers amounts whose cents are .02.
    const { orderId, paymentId } = await create(20.02);
    const first = await eventually(async () => {
      const j = await job(paymentId);
      return j && j.attemptsMade >= 1 && j;
    }, 15_000);
    expect(first.failedReason).to.equal('function chargePayment failed 3 time(s): function chargePayment did not answer within 150 ms');
    expect(await replyTypes(orderId, 2)).to.deep.equal([OrderReply.PAYMENT_ACCEPTED, OrderReply.PAYMENT_DECLINED]);
    // 2 job attempts × 3 calls of 150 ms, and the backoffs between them.
    expect(Date.now() - started).to.be.at.least(6 * 150 + 2 * (20 + 40) + 100);
    const state = await payment(paymentId);
    expect(state.status).to.equal(S.PAYMENT_FAILED);
    expect(state.context.failureReason).to.equal(GATEWAY_UNAVAILABLE);
  });

  it('http: an endpoint that refuses the charge (422) fails the payment at once, called once', async () => {
    const keys: string[] = [];
    const server = http.createServer((req, res) => {
      keys.push(String(req.headers['idempotency-key']));
      req.resume();
      res.writeHead(422, { 'content-type': 'application/problem+json' });
      res.end('{"status":422,"detail":"card number missing"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      setEnv({ FUNCTIONS: JSON.stringify({ chargePayment: { mode: 'http', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/charge`, attempts: 3 } }) });
      const { orderId, paymentId } = await create(30);
      expect(await replyTypes(orderId, 2)).to.deep.equal([OrderReply.PAYMENT_ACCEPTED, OrderReply.PAYMENT_DECLINED]);
      const j = await finished(paymentId);
      expect(j.attemptsMade).to.equal(1);
      expect(j.returnvalue).to.equal('refused');
      expect(keys).to.deep.equal([paymentId]);
      expect((await payment(paymentId)).context.failureReason).to.equal(CHARGE_REFUSED);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
