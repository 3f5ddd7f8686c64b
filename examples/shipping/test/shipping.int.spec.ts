import { expect } from 'chai';
import path from 'node:path';
import { eventually, httpClient, messagesTo, startTestRuntime, type HttpClient } from '@tributary/runtime/testing';

/**
 * The shipping example against a whole deployment in this process: every bundled context plus
 * those of `examples/` (CONTEXTS_DIR), real Postgres and Redis. An order placed over HTTP that
 * succeeds gets one shipment; delivering its ORDER_SUCCEEDED again creates no second one.
 */
describe('examples/shipping (integration: Postgres, Redis)', function () {
  this.timeout(60_000);
  let runtime: Awaited<ReturnType<typeof startTestRuntime>>;
  let api: HttpClient;

  before(async () => {
    runtime = await startTestRuntime('shipping', {
      CONTEXTS_DIR: path.join(__dirname, '..', '..'),
      CONTEXTS: 'all',
      TIMER_POLL_MS: '100',
      ORDER_STEP_TIMEOUT_MS: '20000',
    });
    api = httpClient(runtime.url!);
  });
  after(() => runtime?.stop());

  const address = { street1: '1 Main St', city: 'Springfield', state: 'OR', country: 'US', zipCode: '97477' };

  /** What these tests read of the answers (the client's bodies are `unknown` unless typed). */
  type Order = { orderId: string; status: string; failureReason?: string };
  type Shipment = { orderId: string; status: string; accountId: string; units: number; total: number; shippingAddress: unknown; _links: { order: { href: string } } };

  /** An active account, a warehouse holding 5 × SKU-S, and an order of 2 that the saga settles. */
  async function succeededOrder(): Promise<{ orderId: string; accountId: string }> {
    const account = await api.post<{ accountId: string }>('/v1/accounts', { firstName: 'Ada', lastName: 'Lovelace', email: `ada.${Date.now()}.${Math.random()}@example.com` });
    expect(account.status, JSON.stringify(account.body)).to.equal(201);
    const accountId = account.body.accountId;
    await eventually(async () => (await api.get<{ status: string }>(`/v1/accounts/${accountId}`)).body.status === 'ACCOUNT_ACTIVE', 20_000);
    const warehouse = await api.post<{ warehouseId: string }>('/v1/warehouses', { name: 'Main', address });
    expect(warehouse.status, JSON.stringify(warehouse.body)).to.equal(201);
    const stocked = await api.post(`/v1/warehouses/${warehouse.body.warehouseId}/inventory`, { productId: 'SKU-S', quantity: 5 });
    expect(stocked.status, JSON.stringify(stocked.body)).to.equal(201);
    const order = await api.post<Order>('/v1/orders', { accountId, lineItems: [{ productId: 'SKU-S', name: 'Socks', quantity: 2, price: 10, tax: 0.5 }], shippingAddress: address });
    expect(order.status, JSON.stringify(order.body)).to.equal(201);
    const orderId = order.body.orderId;
    const settled = await eventually(async () => {
      const o = (await api.get<Order>(`/v1/orders/${orderId}`)).body;
      return o.status === 'ORDER_SUCCEEDED' || o.status === 'ORDER_FAILED' ? o : undefined;
    }, 40_000, 100);
    expect(settled.status, settled.failureReason).to.equal('ORDER_SUCCEEDED');
    return { orderId, accountId };
  }

  it('creates one shipment for a succeeded order, from what its event carries, served at /v1/shipments', async () => {
    const { orderId, accountId } = await succeededOrder();
    const shipment = await eventually(async () => {
      const r = await api.get<Shipment>(`/v1/shipments/${orderId}`);
      return r.status === 200 ? r.body : undefined;
    }, 20_000);
    expect(shipment).to.include({ orderId, status: 'SHIPMENT_REQUESTED', accountId, units: 2, total: 21 });
    expect(shipment.shippingAddress).to.deep.equal(address);
    expect(shipment._links.order.href).to.equal(`/v1/orders/${orderId}`);
    const list = await api.get<{ _embedded: { shipmentList: Shipment[] } }>('/v1/shipments?size=100');
    expect(list.status).to.equal(200);
    expect(list.body._embedded.shipmentList.filter((s) => s.orderId === orderId)).to.have.length(1);
  });

  it('answers 404 for an order without a shipment, and for an id that is not one', async () => {
    expect((await api.get('/v1/shipments/00000000-0000-4000-8000-000000000000')).status).to.equal(404);
    const bad = await api.get('/v1/shipments/not-a-uuid');
    expect(bad.status).to.equal(404);
    expect(bad.contentType).to.match(/^application\/problem\+json/);
  });

  it('ships an order once when its ORDER_SUCCEEDED is delivered again', async () => {
    const { orderId } = await succeededOrder();
    await eventually(async () => (await api.get(`/v1/shipments/${orderId}`)).status === 200, 20_000);
    const before = (await runtime.services.db.raw<{ rows: { shipment_id: string }[] }>('SELECT shipment_id FROM shipments WHERE order_id = ?', [orderId])).rows;
    expect(before).to.have.length(1);

    // Put the very entry back on its stream, as a redelivery after a crash looks to the consumer.
    const { redis, topology } = runtime.services;
    const [succeeded] = (await messagesTo(runtime, 'orders', orderId)).filter((m) => m.type === 'ORDER_SUCCEEDED');
    expect(succeeded, 'ORDER_SUCCEEDED on the orders stream').to.not.equal(undefined);
    const copies: { key: string; id: string }[] = [];
    for (const key of topology.streamKeys('orders')) {
      for (const [, fields] of (await redis.xrange(key, '-', '+')) as [string, string[]][]) {
        if (fields.some((f) => f.includes(succeeded.id))) copies.push({ key, id: (await redis.xadd(key, '*', ...fields))! });
      }
    }
    expect(copies).to.have.length(1);
    // The shipping group reads the copy and acknowledges it, and the shipment stays the one it was.
    const [copy] = copies;
    await eventually(async () => {
      const groups = (await redis.xinfo('GROUPS', copy.key)) as unknown[][];
      const group = groups.map((g) => Object.fromEntries(chunk(g))).find((g) => g.name === 'shipping.ship-succeeded-orders');
      return group && Number(group.pending) === 0 && compareIds(String(group['last-delivered-id']), copy.id) >= 0;
    }, 10_000);
    const after = (await runtime.services.db.raw<{ rows: { shipment_id: string }[] }>('SELECT shipment_id FROM shipments WHERE order_id = ?', [orderId])).rows;
    expect(after).to.deep.equal(before);
  });
});

/** [k1, v1, k2, v2, ...] as [[k1, v1], ...]. */
function chunk(flat: unknown[]): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([String(flat[i]), flat[i + 1]]);
  return out;
}

/** Orders two stream entry ids (`<ms>-<seq>`). */
function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  return am === bm ? Number(as - bs) : am < bm ? -1 : 1;
}
