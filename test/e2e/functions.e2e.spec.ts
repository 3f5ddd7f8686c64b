/**
 * A function bound to a transition, run over HTTP: real `tributary start` processes with every
 * context, `FUNCTIONS` sending `chargePayment` to a function server this test starts (the
 * gateway simulator behind the runtime's functionRequestHandler, on the deployment's
 * database). A server that answers; one that fails with 503 twice before it answers (one
 * charge, the same Idempotency-Key on every request); one that never answers (the payment
 * fails as "payment gateway unavailable", the order compensates to ORDER_FAILED, nothing is
 * charged); and the function's spans in the order's trace.
 */
import { expect } from 'chai';
import { freshDeployment, killStartedProcesses, startServer, type ServerProcess } from '../support/e2e-process';
import { client, type Client } from '../support/e2e-http';
import { ADDRESS, activeAccount, eventTypes, line, settledOrder, stockedWarehouse } from '../support/e2e-shop';
import { expectInvariants } from '../support/invariants';
import { query } from '../support/e2e-store';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/e2e-otlp-receiver';
import { failsFirst, hangs, passes, startChargeFunctionServer, type ChargeFunctionServer } from '../support/function-server';
import { eventually } from '../support/runtime';

const FUNCTION_SPAN = 'function chargePayment';

describe('functions: the payment charge over HTTP (FUNCTIONS chargePayment mode http)', function () {
  this.timeout(90_000);
  let functions: ChargeFunctionServer;
  let receiver: OtlpReceiver;
  let server: ServerProcess;
  let api: Client;
  let databaseUrl: string;
  let accountId: string;

  before(async () => {
    const env = await freshDeployment('functions');
    databaseUrl = env.DATABASE_URL;
    functions = await startChargeFunctionServer(databaseUrl);
    receiver = await startOtlpReceiver();
    server = await startServer(env, {
      CONTEXTS: 'all',
      ROLE: 'all',
      TIMER_POLL_MS: '100',
      // Long enough that the saga waits for the charge's own verdict, even a timed-out one.
      ORDER_STEP_TIMEOUT_MS: '20000',
      PAYMENT_CHARGE_ATTEMPTS: '2',
      PAYMENT_CHARGE_BACKOFF_MS: '100',
      FUNCTIONS: JSON.stringify({ chargePayment: { mode: 'http', url: functions.url, timeoutMs: 500, attempts: 3, backoffMs: 100 } }),
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_SERVICE_NAME: 'tributary-functions',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
    });
    api = client(server.url);
    accountId = await activeAccount(api);
    await stockedWarehouse(api, { 'SKU-A': 10 });
  });

  after(async () => {
    await server?.stop();
    await killStartedProcesses();
    await functions?.close();
    await receiver?.close();
  });

  async function order(price: number) {
    const r = await api.post('/v1/orders', { accountId, lineItems: [line('SKU-A', 1, price, 0)], shippingAddress: ADDRESS });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    return settledOrder(api, r.body.orderId, 45_000);
  }

  const charges = (paymentId: string) =>
    query<{ status: string; amount: string }>(databaseUrl, 'SELECT status, amount FROM payment_gateway_charges WHERE payment_id = $1', [paymentId]);
  const keysOf = (paymentId: string) => functions.keys.filter((k) => k === paymentId);

  /** The function's spans for a payment, once the trace has them all (`count`). */
  async function functionSpans(paymentId: string, count: number): Promise<ReceivedSpan[]> {
    return eventually(async () => {
      const spans = receiver.spans.filter((s) => s.name === FUNCTION_SPAN && s.attributes['tributary.actor.id'] === paymentId);
      return spans.length >= count ? spans : undefined;
    }, 10_000, 100);
  }

  it('charges through the function server: ORDER_SUCCEEDED, one request, one charge', async () => {
    functions.behave(passes);
    const o = await order(12);
    expect(o.status, o.failureReason).to.equal('ORDER_SUCCEEDED');
    expect((await api.get(`/v1/payments/${o.paymentId}`)).body).to.include({ status: 'PAYMENT_SUCCEEDED', amount: 12 });
    expect(keysOf(o.paymentId), 'requests to the function, by Idempotency-Key').to.deep.equal([o.paymentId]);
    expect(await charges(o.paymentId)).to.deep.equal([{ status: 'approved', amount: '12.00' }]);
  });

  it('retries a server that answers 503 twice: the same Idempotency-Key each time, one effect', async () => {
    functions.behave(failsFirst(2));
    const o = await order(13);
    expect(o.status, o.failureReason).to.equal('ORDER_SUCCEEDED');
    expect(keysOf(o.paymentId)).to.deep.equal([o.paymentId, o.paymentId, o.paymentId]);
    expect(await charges(o.paymentId)).to.deep.equal([{ status: 'approved', amount: '13.00' }]);
    expect(await eventTypes(api, `/v1/payments/${o.paymentId}`, 'paymentEventList')).to.deep.equal([
      'PAYMENT_CREATED', 'ORDER_CONNECTED', 'PAYMENT_PENDING', 'PAYMENT_PROCESSED', 'PAYMENT_SUCCEEDED',
    ]);

    // Each attempt is its own span in the order's trace, a child of the charge job's span.
    const spans = await functionSpans(o.paymentId, 3);
    expect(spans.map((s) => s.attributes['tributary.function.attempt']).sort()).to.deep.equal([1, 2, 3]);
    for (const s of spans) {
      expect(s.attributes).to.include({ 'tributary.function.name': 'chargePayment', 'tributary.function.mode': 'http', 'tributary.order_id': o.orderId, 'tributary.function.idempotency_key': o.paymentId });
      const parent = receiver.spans.find((p) => p.spanId === s.parentSpanId);
      expect(parent?.name, 'parent of a function span').to.equal('job payments.charge');
    }
    expect(new Set(spans.map((s) => s.traceId)).size, 'one trace').to.equal(1);
    const sagaSpans = receiver.spans.filter((s) => s.name.startsWith('saga.step') && s.attributes['tributary.order_id'] === o.orderId);
    expect(sagaSpans.length, 'saga steps of the order').to.be.greaterThan(0);
    expect(sagaSpans.every((s) => s.traceId === spans[0].traceId), 'the function joins the order trace').to.equal(true);
  });

  it('gives up on a server that never answers: the payment fails, the order compensates, nothing is charged', async () => {
    functions.behave(hangs);
    const started = Date.now();
    const o = await order(14);
    expect(o.status).to.equal('ORDER_FAILED');
    const payment = (await api.get(`/v1/payments/${o.paymentId}`)).body;
    expect(payment).to.include({ status: 'PAYMENT_FAILED', failureReason: 'payment gateway unavailable' });
    // 2 charge-job attempts × 3 function attempts, each ended by the 500 ms deadline.
    expect(keysOf(o.paymentId)).to.have.length(6);
    expect(Date.now() - started).to.be.at.least(6 * 500);
    expect(await charges(o.paymentId)).to.deep.equal([]);
    const types = await eventTypes(api, `/v1/orders/${o.orderId}`, 'orderEventList');
    expect(types.slice(-2)).to.deep.equal(['PAYMENT_FAILED', 'ORDER_FAILED']);
    const spans = await functionSpans(o.paymentId, 6);
    expect(spans.map((s) => s.attributes['tributary.function.attempt']).sort()).to.deep.equal([1, 1, 2, 2, 3, 3]);
    await expectInvariants(databaseUrl);
  });
});
