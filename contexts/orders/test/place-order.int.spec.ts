/**
 * What `POST /v1/orders` sends to Postgres, counted: the placement decides on the account as
 * this process cached it (`db.committed(fn, { optimistic: true })`), so it reads neither the
 * account's log nor the order back, and its writes and the commit's timestamp come back from
 * one statement. A stale cached account places the order again on the log's state.
 */
import { expect } from 'chai';
import type { Runtime } from '../../../runtime/roles';
import { startTestRuntime, type TestEnv } from '../../../test/support/runtime';
import { client, type Client } from '../../../test/support/e2e-http';
import { settled, statementsOf } from '../../../test/support/pg-statements';
import { ACCOUNT } from '../../accounts/contract';

const address = { street1: '1 Main St', city: 'Springfield', state: 'OR', country: 'US', zipCode: '97477' };
const draft = (accountId: string) => ({ accountId, lineItems: [{ productId: 'SKU-1', name: 'Widget', quantity: 2, price: 10.5, tax: 0.84 }], shippingAddress: address });

/** Whether a statement reads an actor's log (snapshot and events), as a load without a cached state does. */
const readsLog = (sql: string) => !/^WITH stale AS/.test(sql) && /FROM (snapshots|events)\b/.test(sql);

/** A statement's first words, enough to tell them apart in an assertion message. */
const head = (sql: string) => sql.replace(/\s+/g, ' ').trim().slice(0, 40);

describe('placing an order (Postgres, in-process web role)', function () {
  this.timeout(30_000);
  let runtime: Runtime & { env: TestEnv };
  let http: Client;

  before(async () => {
    // The web role alone: no relay or consumer sends statements while a request is counted.
    runtime = await startTestRuntime('place_order', { CONTEXTS: 'accounts,orders', ROLE: 'web' });
    http = client(runtime.url!);
  });
  after(async () => {
    await runtime?.stop();
  });

  /** An active account, through the account's own commands (no worker runs to activate it). */
  async function activeAccount(): Promise<string> {
    const res = await http.post('/v1/accounts', { firstName: 'Ada', lastName: 'Lovelace', email: `ada-${Date.now()}-${Math.random()}@example.test` });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    const id = res.body.accountId as string;
    await runtime.services.actors.execute(ACCOUNT, id, 'confirm', undefined);
    await runtime.services.actors.execute(ACCOUNT, id, 'activate', undefined);
    return id;
  }

  it('reads no account and no order: lock, in-flight count, one write statement that returns the timestamp', async () => {
    const accountId = await activeAccount();
    const { statements, outcome } = await statementsOf(() => http.post('/v1/orders', draft(accountId)));
    const res = settled(outcome);
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    // The outbox signal's NOTIFY goes on another connection of the pool, whenever it goes.
    const placement = statements.filter((s) => !/pg_notify/.test(s));
    expect(placement.map(head), placement.map(head).join(' | ')).to.have.length(5);
    expect(placement[0]).to.equal('BEGIN');
    expect(placement[1]).to.match(/pg_advisory_xact_lock/);
    expect(placement[2]).to.match(/FROM orders o WHERE o.account_id/);
    expect(placement[3]).to.match(/^WITH stale AS/); // the cached account, checked by the write statement
    expect(placement[4]).to.equal('COMMIT');
    expect(placement.filter(readsLog).map(head), 'no read of a log').to.deep.equal([]);

    // The answer is the row as written: the same timestamps a read shows.
    const read = await http.get(`/v1/orders/${res.body.orderId}`);
    expect(res.body.createdAt).to.equal(read.body.createdAt);
    expect(res.body.lastModified).to.equal(read.body.lastModified);
  });

  it('places the order again on the log when the cached account was stale, and refuses one the log says is suspended', async () => {
    const accountId = await activeAccount();
    // Another process suspends the account behind this one's cache: a raw append of the event.
    const { rows } = await runtime.services.db.raw<{ rows: { version: number }[] }>('SELECT max(version) AS version FROM events WHERE stream_id = ?', [`${ACCOUNT}-${accountId}`]);
    await runtime.services.db.raw(
      `INSERT INTO events (event_id, stream_id, stream_type, version, type, data, metadata)
       VALUES (gen_random_uuid(), ?, ?, ?, 'ACCOUNT_SUSPENDED', '{}', '{}')`,
      [`${ACCOUNT}-${accountId}`, ACCOUNT, rows[0].version + 1],
    );
    const { statements, outcome } = await statementsOf(() => http.post('/v1/orders', draft(accountId)));
    const res = settled(outcome);
    expect(res.status, JSON.stringify(res.body)).to.equal(409);
    // First try on the cached (active) account, refused at commit as stale; then the log.
    const stale = statements.findIndex((s) => /^WITH stale AS/.test(s));
    expect(stale, statements.map(head).join(' | ')).to.be.greaterThan(-1);
    expect(statements.slice(stale + 1).some(readsLog), statements.slice(stale + 1).map(head).join(' | ')).to.equal(true);
    expect(res.body.detail ?? res.body.title).to.match(/Only active accounts can create an order/);
    const { rows: orders } = await runtime.services.db.raw<{ rows: unknown[] }>('SELECT 1 FROM orders WHERE account_id = ?', [accountId]);
    expect(orders).to.have.length(0);
  });
});
