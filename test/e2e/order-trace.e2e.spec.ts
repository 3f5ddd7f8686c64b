/**
 * One order is one trace: the HTTP request that placed it, every saga step and every
 * compensation step share its trace id, across the orders, warehouse and payments
 * contexts, the streams between them and the payment's BullMQ job (in-memory exporter).
 */
import { expect } from 'chai';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { startTestRuntime, eventually } from '../support/runtime';
import { inMemorySpans } from '../support/telemetry';
import { client, type Client } from '../support/e2e-http';
import { ADDRESS, activeAccount, line, settledOrder, stockedWarehouse } from '../support/e2e-shop';
import type { Runtime } from '../../runtime/roles';

const ORDER_ID = 'tributary.order_id';

function traceOf(spans: ReadableSpan[], orderId: string): ReadableSpan[] {
  const placing = spans.find((s) => s.attributes['http.route'] === '/v1/orders' && s.attributes['http.request.method'] === 'POST' && spans.some((x) => x.attributes[ORDER_ID] === orderId && x.spanContext().traceId === s.spanContext().traceId));
  expect(placing, 'the HTTP span of POST /v1/orders').to.not.equal(undefined);
  const traceId = placing!.spanContext().traceId;
  return spans.filter((s) => s.spanContext().traceId === traceId);
}

describe('order trace', function () {
  this.timeout(60_000);
  let runtime: Runtime;
  let api: Client;
  let accountId: string;

  before(async () => {
    inMemorySpans();
    runtime = await startTestRuntime('saga_trace', { TIMER_POLL_MS: '100', PAYMENT_CHARGE_BACKOFF_MS: '100' });
    api = client(runtime.url!);
    accountId = await activeAccount(api);
    await stockedWarehouse(api, { 'SKU-T': 3 });
  });

  after(async () => runtime?.stop());

  it('puts the HTTP span and every saga step of a successful order in one trace', async () => {
    const r = await api.post('/v1/orders', { accountId, lineItems: [line('SKU-T', 1)], shippingAddress: ADDRESS });
    const order = await settledOrder(api, r.body.orderId);
    expect(order.status).to.equal('ORDER_SUCCEEDED');
    const steps = ['connectAccount', 'reserveInventory', 'recordReservation', 'createPayment', 'recordPaymentAccepted', 'recordPayment', 'commitInventory', 'completeOrder'];
    const spans = await eventually(async () => {
      const t = traceOf(inMemorySpans().getFinishedSpans(), order.orderId);
      return steps.every((s) => t.some((x) => x.name === `saga.step ${s}`)) ? t : undefined;
    });
    for (const step of steps) {
      const span = spans.find((s) => s.name === `saga.step ${step}`)!;
      expect(span.attributes[ORDER_ID]).to.equal(order.orderId);
      expect(span.attributes['tributary.correlation_id']).to.equal(order.orderId);
    }
    const names = new Set(spans.map((s) => s.name));
    for (const destination of ['orders', 'warehouse.commands', 'payments.commands', 'orders.commands']) {
      expect([...names].some((n) => new RegExp(`^process ${destination.replace('.', '\\.')}\\.p\\d+$`).test(n)), `process ${destination}`).to.equal(true);
    }
  });

  it('puts the compensation steps of a declined order in its trace too', async () => {
    const r = await api.post('/v1/orders', { accountId, lineItems: [line('SKU-T', 1, 10.01, 0)], shippingAddress: ADDRESS });
    const order = await settledOrder(api, r.body.orderId);
    expect(order.status).to.equal('ORDER_FAILED');
    const spans = await eventually(async () => {
      const t = traceOf(inMemorySpans().getFinishedSpans(), order.orderId);
      return t.some((s) => s.name === 'saga.compensate failOrder') ? t : undefined;
    });
    const names = spans.map((s) => s.name);
    expect(names).to.include.members(['saga.compensate recordPaymentFailure', 'saga.compensate releaseInventory', 'saga.compensate failOrder']);
  });
});
