/**
 * Two web processes of one deployment (one database, one Redis prefix) never lose an update.
 * Both load an aggregate, decide, and append; the unique (stream, version) of the event store
 * must let exactly one of two concurrent writers win, whichever process each one runs in,
 * and the loser must get a 409 problem, never a 500 and never a silent overwrite.
 *
 * Layout: web A and web B (ROLE=web), a worker (it activates new accounts), and a
 * round-robin balancer in front of the two web processes, so a client can also talk to
 * ONE url whose requests alternate between them. Snapshots are taken every 10 events so the
 * concurrent writes also cross snapshot boundaries.
 */
import { expect } from 'chai';
import { eventually } from '../support/runtime';
import { freshDeployment, killStartedProcesses, startServer, type ServerProcess } from '../support/e2e-process';
import { client, expectProblem, newProfile, type Client, type Reply } from '../support/e2e-http';
import { RoundRobinProxy } from '../support/round-robin-proxy';
import { ADDRESS } from '../support/e2e-shop';

const ACCOUNTS = '/v1/accounts';

interface StoredEventView {
  type: string;
  version: number;
  data: Record<string, string>;
}

/** The two answers every concurrent write may get: applied, or a 409 problem (never a 500). */
function expectAppliedOrConflict(reply: Reply, what: string): void {
  if (reply.status === 200) {
    expect(reply.contentType, what).to.match(/^application\/hal\+json/);
    expect(reply.headers.get('etag'), what).to.equal(`"${reply.body.version}"`);
  } else {
    expectProblem(reply, 409);
    expect(reply.body.type, what).to.be.oneOf(['/problems/concurrency-conflict', '/problems/command-rejected']);
  }
}

describe('two web processes behind one port pool: no lost update', function () {
  this.timeout(60_000);
  let webA: ServerProcess;
  let webB: ServerProcess;
  let worker: ServerProcess;
  let pool: RoundRobinProxy;
  let apiA: Client;
  let apiB: Client;
  let apiPool: Client;

  before(async function () {
    this.timeout(90_000); // three processes compile with tsx at once on a 2-core machine
    const env = await freshDeployment('two_webs');
    // orders too: its POST checks the account on a cached state (the last test).
    const web = { ROLE: 'web', SNAPSHOT_EVERY: '10', CONTEXTS: 'accounts,orders' };
    [webA, webB, worker] = await Promise.all([
      startServer(env, web),
      startServer(env, web),
      startServer(env, { ROLE: 'worker', SNAPSHOT_EVERY: '10' }),
    ]);
    pool = await RoundRobinProxy.start([webA.url, webB.url]);
    apiA = client(webA.url);
    apiB = client(webB.url);
    apiPool = client(pool.url);
  });

  after(async function () {
    this.timeout(30_000);
    await pool?.close();
    await Promise.all([webA, webB, worker].filter(Boolean).map((p) => p.stop()));
    await killStartedProcesses();
  });

  /**
   * Any unhandled error a web process logged (a 500), with its stack: checked after each test
   * so a failure names the error itself, not only the status.
   */
  afterEach(function () {
    const unhandled = [webA, webB].flatMap((p) =>
      p.stdout().split('\n').filter((line) => line.includes('"unhandled error"')).map((line) => `pid ${p.pid}: ${line}`),
    );
    expect(unhandled, unhandled.join('\n')).to.deep.equal([]);
  });

  /** A new account, activated by the worker, read back through web B (the other process). */
  async function activeAccount(): Promise<{ id: string; email: string }> {
    const profile = newProfile('Concurrent');
    const created = await apiA.post(ACCOUNTS, profile);
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const id = created.body.accountId as string;
    await eventually(async () => (await apiB.get(`${ACCOUNTS}/${id}`)).body.status === 'ACCOUNT_ACTIVE', 20_000);
    return { id, email: profile.email };
  }

  async function eventLog(id: string): Promise<StoredEventView[]> {
    const r = await apiA.get(`${ACCOUNTS}/${id}/events`);
    expect(r.status).to.equal(200);
    const events = r.body._embedded.accountEventList as StoredEventView[];
    // Whatever happened, the log has no gap and no duplicate version.
    expect(events.map((e) => e.version)).to.deep.equal(events.map((_, i) => i + 1));
    return events;
  }

  it('the pool alternates between the two web processes (the pid /healthz reports)', async () => {
    const pids: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await apiPool.get('/healthz');
      expect(r.status).to.equal(200);
      pids.push(r.body.pid);
    }
    expect(webA.pid).to.not.equal(webB.pid);
    const [first, second] = pids;
    expect([first, second]).to.have.members([webA.pid, webB.pid]);
    expect(pids).to.deep.equal([first, second, first, second, first, second]);
  });

  /**
   * Rounds of: read the version, then two updates with that version in If-Match at once, one
   * sent by `send[0]` and one by `send[1]`. Returns the winning last name of each round.
   */
  async function conflictingRounds(id: string, email: string, rounds: number, label: string, send: [Client, Client]) {
    const winners: string[] = [];
    const wins = { first: 0, second: 0 };
    for (let round = 0; round < rounds; round++) {
      const read = await (round % 2 ? apiB : apiA).get(`${ACCOUNTS}/${id}`);
      expect(read.status).to.equal(200);
      const version = read.body.version as number;
      expect(read.headers.get('etag')).to.equal(`"${version}"`);

      const names = [`${label}${round}First`, `${label}${round}Second`];
      const replies = await Promise.all(
        names.map((lastName, i) => send[i].put(`${ACCOUNTS}/${id}`, { firstName: 'Concurrent', lastName, email }, { headers: { 'If-Match': `"${version}"` } })),
      );
      const what = `round ${round}: ${replies.map((r) => `${r.status} ${JSON.stringify(r.body)}`).join(' | ')}`;
      expect(replies.map((r) => r.status).sort(), what).to.deep.equal([200, 409]);
      const winner = replies.findIndex((r) => r.status === 200);
      const loser = replies[1 - winner];
      expectProblem(loser, 409);
      expect(loser.body.type, what).to.equal('/problems/concurrency-conflict');
      expect(loser.body.message, what).to.contain(`expected version ${version}`);
      expect(replies[winner].body, what).to.include({ lastName: names[winner], version: version + 1 });
      expect(replies[winner].headers.get('etag'), what).to.equal(`"${version + 1}"`);
      winners.push(names[winner]);
      if (winner === 0) wins.first += 1;
      else wins.second += 1;

      // Both processes show the winner's value at once: the read model is written with the event.
      for (const api of [apiA, apiB]) {
        const now = await api.get(`${ACCOUNTS}/${id}`);
        expect(now.body, what).to.include({ lastName: names[winner], version: version + 1 });
      }
    }
    return { winners, wins };
  }

  async function expectOneUpdatePerRound(id: string, winners: string[]): Promise<void> {
    const updated = (await eventLog(id)).filter((e) => e.type === 'ACCOUNT_UPDATED');
    expect(updated.map((e) => e.data.lastName)).to.deep.equal(winners);
  }

  it('If-Match: 30 rounds of two conflicting PUTs at once, one per process: one 200 and one 409 each round', async () => {
    const { id, email } = await activeAccount();
    const { winners, wins } = await conflictingRounds(id, email, 30, 'Direct', [apiA, apiB]);
    console.log(`      wins: web A ${wins.first}, web B ${wins.second}`);
    await expectOneUpdatePerRound(id, winners);
  });

  it('If-Match: 15 rounds of two conflicting PUTs at once through the pool: one 200 and one 409 each round', async () => {
    const { id, email } = await activeAccount();
    const before = [...pool.forwarded];
    const { winners } = await conflictingRounds(id, email, 15, 'Pooled', [apiPool, apiPool]);
    // Each round's two PUTs went one to each process.
    expect(pool.forwarded.map((n, i) => n - before[i])).to.deep.equal([15, 15]);
    await expectOneUpdatePerRound(id, winners);
  });

  it('no If-Match: concurrent suspends from both processes: one succeeds, the other gets 409, one ACCOUNT_SUSPENDED', async () => {
    const { id } = await activeAccount();
    const rounds = 10;
    const loserTypes: string[] = [];
    for (let round = 0; round < rounds; round++) {
      const replies = await Promise.all([apiA, apiB].map((api) => api.post(`${ACCOUNTS}/${id}/commands/suspend`)));
      const what = `round ${round}: ${replies.map((r) => `${r.status} ${JSON.stringify(r.body)}`).join(' | ')}`;
      expect(replies.map((r) => r.status).sort(), what).to.deep.equal([200, 409]);
      const loser = replies.find((r) => r.status === 409)!;
      expectAppliedOrConflict(loser, what);
      loserTypes.push(loser.body.type);
      expect(replies.find((r) => r.status === 200)!.body.status, what).to.equal('ACCOUNT_SUSPENDED');
      // Back to active for the next round (one writer: no race here).
      const activated = await (round % 2 ? apiA : apiB).post(`${ACCOUNTS}/${id}/commands/activate`);
      expect(activated.status, JSON.stringify(activated.body)).to.equal(200);
    }
    const types = (await eventLog(id)).map((e) => e.type);
    expect(types.filter((t) => t === 'ACCOUNT_SUSPENDED')).to.have.length(rounds);
    expect(types.slice(3)).to.deep.equal(Array.from({ length: rounds }, () => ['ACCOUNT_SUSPENDED', 'ACCOUNT_ACTIVATED']).flat());
    const tally = loserTypes.reduce<Record<string, number>>((t, type) => ({ ...t, [type]: (t[type] ?? 0) + 1 }), {});
    console.log(`      losers: ${JSON.stringify(tally)}`);
  });

  it('no If-Match: bursts of 20 concurrent PUTs from both processes: only 200 or 409, and every 200 is in the log', async () => {
    const { id, email } = await activeAccount();
    /** The last name each applied PUT sent, and the version its answer showed. */
    const acknowledged: { lastName: string; answeredVersion: number }[] = [];
    let answers = 0;
    for (let burst = 0; burst < 3; burst++) {
      const names = Array.from({ length: 20 }, (_, i) => `Burst${burst}Writer${i}`);
      const replies = await Promise.all(
        names.map((lastName, i) => (i % 2 ? apiB : apiA).put(`${ACCOUNTS}/${id}`, { firstName: 'Concurrent', lastName, email })),
      );
      replies.forEach((r, i) => {
        const what = `burst ${burst}, writer ${i}: ${r.status} ${JSON.stringify(r.body)}`;
        expect(r.status, what).to.be.oneOf([200, 409]);
        expectAppliedOrConflict(r, what);
        answers += 1;
        if (r.status === 200) acknowledged.push({ lastName: names[i], answeredVersion: r.body.version });
      });
    }
    console.log(`      ${acknowledged.length} of ${answers} PUTs applied, ${answers - acknowledged.length} got 409`);
    expect(acknowledged).to.not.be.empty;

    const updated = (await eventLog(id)).filter((e) => e.type === 'ACCOUNT_UPDATED');
    // Each acknowledged write is in the log, exactly once; no write that got 409 is.
    expect(updated).to.have.length(acknowledged.length);
    expect(updated.map((e) => e.data.lastName)).to.have.members(acknowledged.map((a) => a.lastName));
    // A 200 shows exactly its own write (the answer is read in the command's transaction, so a
    // writer that commits right after cannot show through).
    const versionOf = new Map(updated.map((e) => [e.data.lastName, e.version]));
    for (const a of acknowledged) expect(versionOf.get(a.lastName), a.lastName).to.equal(a.answeredVersion);
    // And the resource shows the last write that was applied.
    const last = updated[updated.length - 1];
    const current = await apiB.get(`${ACCOUNTS}/${id}`);
    expect(current.body).to.include({ lastName: last.data.lastName, version: last.version });
  });

  /**
   * Web A places orders on the account state it has cached, checked unchanged when the order
   * commits. The account changes through web B: A must decide on the log, never on its stale
   * copy, either way.
   */
  it('an order placed on web A sees the account as web B left it: suspended is refused (409, nothing written), reactivated is accepted', async () => {
    const { id } = await activeAccount();
    const order = { lineItems: [{ productId: 'SKU-TWO-WEBS', name: 'Item', quantity: 1, price: 1, tax: 0 }], shippingAddress: ADDRESS };
    const postOrder = () => apiA.post(`${ACCOUNTS}/${id}/commands/postOrder`, order);
    const ordersOf = async () => (await apiB.get(`${ACCOUNTS}/${id}/orders`)).body.page.totalElements as number;

    const first = await postOrder();
    expect(first.status, 'web A caches the active account').to.equal(201);
    // Web A answers from what it wrote, without reading it back: the row as web B reads it
    // (no worker moves orders in this deployment), timestamps included.
    expect(first.body).to.deep.equal((await apiB.get(first.headers.get('location')!)).body);
    expect(first.body).to.include({ status: 'ORDER_CREATED', version: 1, total: 1 });
    expect(first.body.createdAt).to.equal(first.body.lastModified);
    expect((await apiB.post(`${ACCOUNTS}/${id}/commands/suspend`)).status).to.equal(200);
    expectProblem(await postOrder(), 409, 'Only active accounts can create an order');
    expect(await ordersOf()).to.equal(1);

    expect((await apiB.post(`${ACCOUNTS}/${id}/commands/activate`)).status).to.equal(200);
    const placed = await postOrder();
    expect(placed.status, JSON.stringify(placed.body)).to.equal(201);
    expect(await ordersOf()).to.equal(2);
  });
});
