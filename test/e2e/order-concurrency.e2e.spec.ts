/**
 * Contention: 100 orders posted at once, each for one unit of a product stocked 30 times.
 * Exactly 30 succeed and 70 fail; no unit is allocated twice; stock is conserved; every
 * invariant of `npm run check` holds.
 */
import { expect } from 'chai';
import pg from 'pg';
import { freshDeployment, killStartedProcesses, startServer, type ServerProcess } from '../support/e2e-process';
import { client } from '../support/e2e-http';
import { ADDRESS, activeAccount, line, settledOrder, stockedWarehouse } from '../support/e2e-shop';
import { eventually } from '../support/runtime';
import { expectInvariants } from '../support/invariants';

describe('order saga under contention', function () {
  this.timeout(120_000);
  let server: ServerProcess;

  after(async () => {
    await server?.stop();
    await killStartedProcesses();
  });

  it('100 orders against stock for 30: exactly 30 succeed, 70 fail, invariants hold', async () => {
    const env = await freshDeployment('saga_contention');
    server = await startServer(env, { CONTEXTS: 'all', ROLE: 'all', TIMER_POLL_MS: '100', ORDER_STEP_TIMEOUT_MS: '30000' });
    const api = client(server.url);
    const accounts = await Promise.all([1, 2, 3, 4].map(() => activeAccount(api)));
    await stockedWarehouse(api, { 'SKU-C': 30 });

    const posted = await Promise.all(
      Array.from({ length: 100 }, (_, i) => api.post('/v1/orders', { accountId: accounts[i % accounts.length], lineItems: [line('SKU-C', 1)], shippingAddress: ADDRESS })),
    );
    expect(posted.map((r) => r.status)).to.deep.equal(Array(100).fill(201));
    const started = Date.now();
    // One poll for all of them (100 pollers would load the machine more than the saga does).
    await eventually(async () => {
      const page = (await api.get('/v1/orders?size=200')).body._embedded.orderList as { status: string }[];
      return page.filter((o) => o.status === 'ORDER_SUCCEEDED' || o.status === 'ORDER_FAILED').length === 100;
    }, 90_000, 250);
    const orders = await Promise.all(posted.map((r) => settledOrder(api, r.body.orderId)));
    console.log(`      100 orders settled in ${Date.now() - started} ms`);
    const succeeded = orders.filter((o) => o.status === 'ORDER_SUCCEEDED');
    const failed = orders.filter((o) => o.status === 'ORDER_FAILED');
    expect(succeeded).to.have.length(30);
    expect(failed).to.have.length(70);
    for (const o of failed) expect(o.failureReason).to.match(/SKU-C/);

    const db = new pg.Client({ connectionString: env.DATABASE_URL });
    await db.connect();
    try {
      const units = await db.query(`SELECT status, count(*)::int AS n FROM inventory WHERE product_id = 'SKU-C' GROUP BY status`);
      expect(Object.fromEntries(units.rows.map((r) => [r.status, r.n]))).to.deep.equal({ INVENTORY_RESERVED: 30 });
      const doubles = await db.query(`SELECT reservation_id FROM inventory WHERE reservation_id IS NOT NULL GROUP BY inventory_id, reservation_id HAVING count(*) > 1`);
      expect(doubles.rows).to.deep.equal([]);
    } finally {
      await db.end();
    }
    await expectInvariants(env.DATABASE_URL);
  });
});
