/**
 * The event stream across real processes: two web processes and a worker of one deployment.
 * Each web process polls Postgres itself, so a client of web A sees what web B and the worker
 * committed, in the log's order; a client that drops its connection to A resumes on B with
 * Last-Event-ID and gets exactly the rest. Stopping a web process with open streams is quick.
 */
import { expect } from 'chai';
import pg from 'pg';
import { eventually } from '../support/runtime';
import { freshDeployment, killStartedProcesses, startServer, type ServerProcess } from '../support/e2e-process';
import { client, newProfile, type Client } from '../support/e2e-http';
import { openSse, type SseConnection } from '../support/sse-client';

const ids = (s: SseConnection) => s.messages.filter((m) => m.event === 'event').map((m) => Number(m.id));

describe('event stream over two web processes', function () {
  this.timeout(90_000);
  let webA: ServerProcess;
  let webB: ServerProcess;
  let worker: ServerProcess;
  let apiA: Client;
  let apiB: Client;
  let db: pg.Client;
  const streams: SseConnection[] = [];

  const positions = async (after: number) =>
    (await db.query('SELECT position FROM events WHERE position > $1 ORDER BY position', [after])).rows.map((r: { position: string }) => Number(r.position));

  before(async function () {
    this.timeout(90_000); // three processes compile with tsx at once on a 2-core machine
    const env = await freshDeployment('event_stream');
    const web = { ROLE: 'web', EVENT_STREAM_POLL_MS: '100' };
    [webA, webB, worker] = await Promise.all([startServer(env, web), startServer(env, web), startServer(env, { ROLE: 'worker' })]);
    apiA = client(webA.url);
    apiB = client(webB.url);
    db = new pg.Client({ connectionString: env.DATABASE_URL });
    await db.connect();
  });

  after(async () => {
    for (const s of streams) s.close();
    await db?.end();
    await Promise.all([webA, webB, worker].filter(Boolean).map((p) => p.stop()));
    await killStartedProcesses();
  });

  it('shows on web A what web B and the worker commit, in log order', async () => {
    const a = await openSse(webA.url, '/v1/events/stream?type=account');
    streams.push(a);
    const from = (await positions(0)).at(-1) ?? 0;
    const created = await Promise.all([apiB.post('/v1/accounts', newProfile()), apiB.post('/v1/accounts', newProfile()), apiA.post('/v1/accounts', newProfile())]);
    for (const r of created) expect(r.status).to.equal(201);
    // Each account: created by a web process, confirmed and activated by the worker.
    await a.waitFor(9, 30_000);
    expect(ids(a)).to.deep.equal((await positions(from)).slice(0, 9));
    const mine = a.events().filter((e) => e.aggregateId === created[0].body.accountId).map((e) => e.type);
    expect(mine).to.deep.equal(['ACCOUNT_CREATED', 'ACCOUNT_CONFIRMED', 'ACCOUNT_ACTIVATED']);
  });

  it('resumes on web B where the connection to web A dropped: no gap, no duplicate', async () => {
    const a = await openSse(webA.url, '/v1/events/stream');
    streams.push(a);
    await apiA.post('/v1/accounts', newProfile());
    await a.waitFor(1, 30_000);
    a.close();
    const last = ids(a).at(-1)!;
    for (let i = 0; i < 3; i++) expect((await apiB.post('/v1/accounts', newProfile())).status).to.equal(201);
    const b = await openSse(webB.url, '/v1/events/stream', { 'Last-Event-ID': String(last) });
    streams.push(b);
    await apiA.post('/v1/accounts', newProfile());
    // Four accounts after `last`, three events each: wait until the log is there and B caught up.
    const expected = await eventually(async () => {
      const p = await positions(last);
      return p.length >= 11 && ids(b).at(-1) === p.at(-1) ? p : undefined;
    }, 30_000);
    expect(ids(b)).to.deep.equal(expected);
  });

  it('stops a web process with open streams promptly, ending them', async () => {
    const open = await Promise.all([openSse(webA.url, '/v1/events/stream'), openSse(webA.url, '/v1/events/stream?type=account')]);
    streams.push(...open);
    const stopped = await webA.stop(10_000);
    expect(stopped.code).to.equal(0);
    expect(stopped.ms, `stop took ${stopped.ms} ms`).to.be.below(4_000);
    await Promise.all(open.map((s) => s.closed));
  });
});
