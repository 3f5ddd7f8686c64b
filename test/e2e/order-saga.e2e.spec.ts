/**
 * The order saga end to end, through real processes and HTTP, in both deployment layouts:
 * the happy path, out of stock, a declined payment, bad orders at the door, and a payment
 * gateway that never answers (deadlines re-send, then the saga compensates). After each
 * layout, `npm run check`'s invariants must hold.
 */
import { expect } from 'chai';
import pg from 'pg';
import { deleteByPrefix } from '../../runtime/messaging/redis';
import { freshDeployment, killStartedProcesses, startServer, type ServerProcess } from '../support/e2e-process';
import { client, expectProblem, type Client } from '../support/e2e-http';
import { ADDRESS, activeAccount, eventTypes, line, settledOrder, stockedWarehouse } from '../support/e2e-shop';
import { expectInvariants } from '../support/invariants';

const SAGA_SETTINGS = {
  CONTEXTS: 'all',
  TIMER_POLL_MS: '100',
  ORDER_STEP_TIMEOUT_MS: '20000',
  PAYMENT_CHARGE_BACKOFF_MS: '100',
};

async function count(databaseUrl: string, sql: string): Promise<number> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    return Number((await c.query(sql)).rows[0].n);
  } finally {
    await c.end();
  }
}

const layouts = [
  { name: 'one process (ROLE=all)', roles: [{ ROLE: 'all' }] },
  { name: 'web and worker processes', roles: [{ ROLE: 'web' }, { ROLE: 'worker' }] },
];

for (const layout of layouts) {
  describe(`order saga, ${layout.name}`, function () {
    this.timeout(90_000);
    let processes: ServerProcess[] = [];
    let api: Client;
    let databaseUrl: string;
    let accountId: string;

    before(async () => {
      const env = await freshDeployment('saga');
      databaseUrl = env.DATABASE_URL;
      processes = await Promise.all(layout.roles.map((r) => startServer(env, { ...SAGA_SETTINGS, ...r })));
      api = client(processes[0].url);
      accountId = await activeAccount(api);
      await stockedWarehouse(api, { 'SKU-A': 5, 'SKU-B': 3 });
    });

    after(async () => {
      await Promise.all(processes.map((p) => p.stop()));
      await killStartedProcesses();
    });

    /** The data of an order's last event, as its events resource shows it. */
    const lastEventData = async (orderId: string) => {
      const list = (await api.get(`/v1/orders/${orderId}/events`)).body._embedded.orderEventList as { data: unknown }[];
      return list[list.length - 1].data;
    };

    it('drives an order to ORDER_SUCCEEDED: reserved, charged once, units sold', async () => {
      const r = await api.post(`/v1/accounts/${accountId}/commands/postOrder`, { lineItems: [line('SKU-A', 2, 10, 0.5), line('SKU-B', 1, 4.25, 0.25)], shippingAddress: ADDRESS });
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      expect(r.body.status).to.equal('ORDER_CREATED');
      expect(r.body.total).to.equal(25.5);
      expect(r.body._links).to.include.keys('self', 'events', 'commands', 'account', 'reservations');
      const order = await settledOrder(api, r.body.orderId);
      expect(order.status, order.failureReason).to.equal('ORDER_SUCCEEDED');
      expect(order._links.payment.href).to.equal(`/v1/payments/${order.paymentId}`);
      expect(await eventTypes(api, `/v1/orders/${order.orderId}`, 'orderEventList')).to.deep.equal([
        'ORDER_CREATED', 'ACCOUNT_CONNECTED', 'RESERVATION_PENDING', 'RESERVATION_ADDED', 'RESERVATION_ADDED', 'RESERVATION_SUCCEEDED',
        'PAYMENT_CREATED', 'PAYMENT_CONNECTED', 'PAYMENT_PENDING', 'PAYMENT_SUCCEEDED', 'ORDER_SUCCEEDED',
      ]);
      // The terminal event carries what a context downstream needs (the orders contract's OrderSummary).
      expect(await lastEventData(order.orderId)).to.deep.equal({ accountId, lineItems: order.lineItems, shippingAddress: order.shippingAddress, total: 25.5 });
      const payment = (await api.get(`/v1/payments/${order.paymentId}`)).body;
      expect(payment).to.include({ status: 'PAYMENT_SUCCEEDED', amount: 25.5, orderId: order.orderId });
      const reservations = (await api.get(`/v1/orders/${order.orderId}/reservations`)).body._embedded.reservationList;
      expect(reservations).to.have.length(2);
      expect(await count(databaseUrl, `SELECT count(*) AS n FROM inventory WHERE status = 'INVENTORY_RESERVED'`)).to.equal(3);
    });

    it('fails an order no warehouse can fill, with its reason, holding nothing', async () => {
      const r = await api.post('/v1/orders', { accountId, lineItems: [line('SKU-A', 1), line('SKU-B', 50)], shippingAddress: ADDRESS });
      expect(r.status).to.equal(201);
      const order = await settledOrder(api, r.body.orderId);
      expect(order.status).to.equal('ORDER_FAILED');
      expect(order.failureReason).to.match(/SKU-B/);
      expect(await eventTypes(api, `/v1/orders/${order.orderId}`, 'orderEventList')).to.deep.equal([
        'ORDER_CREATED', 'ACCOUNT_CONNECTED', 'RESERVATION_PENDING', 'RESERVATION_FAILED', 'ORDER_FAILED',
      ]);
      expect(await lastEventData(order.orderId)).to.deep.equal({
        reason: order.failureReason, accountId, lineItems: order.lineItems, shippingAddress: order.shippingAddress, total: order.total,
      });
    });

    it('compensates a declined payment: units back to available, nothing charged', async () => {
      const available = () => count(databaseUrl, `SELECT count(*) AS n FROM inventory WHERE status = 'RESERVATION_PENDING' AND product_id = 'SKU-A'`);
      const before = await available();
      // The simulator declines amounts whose cents are .01 (contexts/payments/README.md).
      const r = await api.post('/v1/orders', { accountId, lineItems: [line('SKU-A', 1, 10.01, 0)], shippingAddress: ADDRESS });
      const order = await settledOrder(api, r.body.orderId);
      expect(order.status).to.equal('ORDER_FAILED');
      expect(order.failureReason).to.match(/declined/);
      const types = await eventTypes(api, `/v1/orders/${order.orderId}`, 'orderEventList');
      expect(types.slice(-2)).to.deep.equal(['PAYMENT_FAILED', 'ORDER_FAILED']);
      expect(await available()).to.equal(before);
      expect((await api.get(`/v1/payments/${order.paymentId}`)).body.status).to.equal('PAYMENT_FAILED');
    });

    it('rejects empty, zero-quantity and malformed orders at the door, writing nothing', async () => {
      const orders = () => count(databaseUrl, 'SELECT count(*) AS n FROM orders');
      const before = await orders();
      expectProblem(await api.post('/v1/orders', { accountId, lineItems: [], shippingAddress: ADDRESS }), 400, /at least one line item/);
      expectProblem(await api.post('/v1/orders', { accountId, lineItems: [line('SKU-A', 0)], shippingAddress: ADDRESS }), 400, /quantity must be at least 1/);
      expectProblem(await api.post('/v1/orders', { accountId, lineItems: [line('SKU-A', 1)] }), 400);
      expectProblem(await api.post('/v1/orders', { accountId: 'nope', lineItems: [line('SKU-A', 1)], shippingAddress: ADDRESS }), 400);
      expectProblem(await api.post(`/v1/accounts/${accountId}/commands/postOrder`, { lineItems: [{ productId: 'SKU-A', quantity: 1 }], shippingAddress: ADDRESS }), 400);
      expect(await orders()).to.equal(before);
    });

    it('answers 409 "Only active accounts can create an order" for a suspended account', async () => {
      const other = await activeAccount(api);
      const commands = async () => Object.keys((await api.get(`/v1/accounts/${other}/commands`)).body._links).filter((rel) => rel !== 'self' && rel !== 'account');
      // The seed's account commands: postOrder is offered by the orders context while the account is active.
      expect(await commands()).to.deep.equal(['suspend', 'archive', 'postOrder']);
      expect((await api.post(`/v1/accounts/${other}/commands/suspend`)).status).to.equal(200);
      expect(await commands()).to.deep.equal(['activate']);
      expectProblem(await api.post(`/v1/accounts/${other}/commands/postOrder`, { lineItems: [line('SKU-A', 1)], shippingAddress: ADDRESS }), 409, 'Only active accounts can create an order');
    });

    it('keeps every invariant', async () => {
      await expectInvariants(databaseUrl);
    });
  });
}

for (const layout of layouts) {
  describe(`order saga, a payment gateway that never answers, ${layout.name}`, function () {
    this.timeout(90_000);
    let processes: ServerProcess[] = [];

    after(async () => {
      await Promise.all(processes.map((p) => p.stop()));
      await killStartedProcesses();
    });

    it('re-sends the payment step on its deadline, then cancels it and compensates to ORDER_FAILED', async () => {
      const env = await freshDeployment('saga_deadline');
      const settings = { CONTEXTS: 'all', TIMER_POLL_MS: '100', ORDER_STEP_TIMEOUT_MS: '1000', ORDER_STEP_MAX_ATTEMPTS: '2', PAYMENT_GATEWAY_TIMEOUT_MS: '30000' };
      processes = await Promise.all(layout.roles.map((r) => startServer(env, { ...settings, ...r })));
      const api = client(processes[0].url);
      const accountId = await activeAccount(api);
      await stockedWarehouse(api, { 'SKU-A': 2 });
      // The simulator never answers amounts whose cents are .02.
      const r = await api.post('/v1/orders', { accountId, lineItems: [line('SKU-A', 1, 10.02, 0)], shippingAddress: ADDRESS });
      const order = await settledOrder(api, r.body.orderId, 45_000);
      expect(order.status).to.equal('ORDER_FAILED');
      expect(order.failureReason).to.match(/no payment result/);
      expect((await api.get(`/v1/payments/${order.paymentId}`)).body.status).to.equal('PAYMENT_FAILED');
      const types = await eventTypes(api, `/v1/orders/${order.orderId}`, 'orderEventList');
      expect(types.slice(-2)).to.deep.equal(['PAYMENT_FAILED', 'ORDER_FAILED']);
      await expectInvariants(env.DATABASE_URL);
    });
  });
}

describe('order saga, Redis loses its data mid-run', function () {
  this.timeout(120_000);
  let server: ServerProcess;

  after(async () => {
    await server?.stop();
    await killStartedProcesses();
  });

  it('resumes every order from Postgres (deadlines re-send the steps) and keeps the invariants', async () => {
    const env = await freshDeployment('saga_redis_loss');
    server = await startServer(env, { CONTEXTS: 'all', ROLE: 'all', TIMER_POLL_MS: '100', TIMER_REARM_MS: '2000', ORDER_STEP_TIMEOUT_MS: '1500', ORDER_STEP_MAX_ATTEMPTS: '5' });
    const api = client(server.url);
    const accountId = await activeAccount(api);
    await stockedWarehouse(api, { 'SKU-R': 20 });
    const posted = await Promise.all(Array.from({ length: 20 }, (_, i) => api.post('/v1/orders', { accountId, lineItems: [line('SKU-R', 1, 10 + i, 0)], shippingAddress: ADDRESS })));
    // Lose every key of this deployment (streams, groups, pending entries, BullMQ jobs) while the sagas run.
    await deleteByPrefix(env.REDIS_URL, env.REDIS_PREFIX);
    const orders = await Promise.all(posted.map((r) => settledOrder(api, r.body.orderId, 90_000)));
    expect(orders.filter((o) => o.status === 'ORDER_SUCCEEDED')).to.have.length(20);
    await expectInvariants(env.DATABASE_URL);
  });
});
