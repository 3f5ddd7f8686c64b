import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import pg from 'pg';
import { eventually, startTestRuntime } from '../../../test/support/runtime';
import { client, expectProblem, newProfile, type Client } from '../../../test/support/e2e-http';
import { openSse, type SseConnection } from '../../../test/support/sse-client';
import type { Runtime } from '../../roles';
import { droppedClients, eventFeedOf } from './event-stream/routes';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The event stream against a real runtime: live delivery, filters, resume without gap or
 * duplicate, the bigserial trap (a position committed late), rolled-back holes, a slow client
 * dropped at its cap, one poller for all clients, heartbeats, and stop() ending open streams.
 */
describe('GET /v1/events/stream', function () {
  this.timeout(60_000);
  let rt: Runtime & { env: { DATABASE_URL: string } };
  let api: Client;
  let sqlClient: pg.Client;
  const open: SseConnection[] = [];

  const stream = async (path = '/v1/events/stream', headers: Record<string, string> = {}) => {
    const s = await openSse(rt.url!, path, headers);
    open.push(s);
    return s;
  };
  const positions = async (after: number): Promise<number[]> =>
    (await rt.services.db.raw<{ rows: { position: string }[] }>('SELECT position FROM events WHERE position > ? ORDER BY position', [after])).rows.map((r) => Number(r.position));
  const maxPosition = async () => Number((await rt.services.db.raw<{ rows: { m: string }[] }>('SELECT coalesce(max(position), 0) AS m FROM events')).rows[0].m);
  const register = async () => {
    const r = await api.post('/v1/accounts', newProfile());
    expect(r.status).to.equal(201);
    return r.body.accountId as string;
  };
  /** A raw event row of a made-up account (the data size is chosen by the test). */
  const insertEvents = (q: { query: (s: string, v: unknown[]) => Promise<unknown> }, n: number, bytes = 10) =>
    q.query(
      `INSERT INTO events (event_id, stream_id, stream_type, version, type, data, metadata)
       SELECT gen_random_uuid(), 'account-' || a, 'account', 1, 'STREAM_PROBE', jsonb_build_object('pad', repeat('x', $2::int)),
              jsonb_build_object('actorId', a, 'correlationId', a, 'causationId', a)
         FROM (SELECT gen_random_uuid()::text AS a FROM generate_series(1, $1::int)) s`,
      [n, bytes],
    );

  before(async () => {
    rt = (await startTestRuntime('event-stream', {
      CONTEXTS: 'accounts',
      EVENT_STREAM_POLL_MS: '50',
      EVENT_STREAM_HEARTBEAT_MS: '200',
      EVENT_STREAM_GAP_MS: '15000',
      EVENT_STREAM_BUFFER_EVENTS: '200',
      EVENT_STREAM_BUFFER_BYTES: '65536',
    })) as typeof rt;
    api = client(rt.url!);
    sqlClient = new pg.Client({ connectionString: rt.env.DATABASE_URL });
    await sqlClient.connect();
  });

  afterEach(() => {
    for (const s of open.splice(0)) s.close();
  });

  after(async () => {
    await sqlClient?.end();
    await rt?.stop();
  });

  it('delivers committed events live, as the timeline shows them, with heartbeats', async () => {
    const s = await stream();
    expect(s.status).to.equal(200);
    expect(s.headers['content-type']).to.match(/^text\/event-stream/);
    const id = await register();
    await s.waitFor(3, 20_000); // the worker confirms and activates it
    const events = s.events();
    expect(events.slice(0, 3).map((e) => e.type)).to.deep.equal(['ACCOUNT_CREATED', 'ACCOUNT_CONFIRMED', 'ACCOUNT_ACTIVATED']);
    expect(events[0]).to.include({ aggregateType: 'account', aggregateId: id, version: 1, compensation: false });
    expect(events[0]._links.aggregate.href).to.equal(`/v1/accounts/${id}`);
    expect(s.messages.filter((m) => m.event === 'event').map((m) => Number(m.id))).to.deep.equal(events.map((e) => e.position));
    const timeline = await api.get(`/v1/correlations/${events[0].correlationId}`);
    expect(timeline.body.events[0]).to.deep.equal(events[0]);
    await eventually(async () => s.comments > 0, 2_000);
  });

  it('filters by aggregate type, aggregate and correlation', async () => {
    const a = await register();
    await eventually(async () => (await api.get(`/v1/accounts/${a}`)).body.status === 'ACCOUNT_ACTIVE', 20_000);
    const byId = await stream(`/v1/events/stream?type=account&id=${a}&after=0`);
    const created = (await byId.waitFor(3, 20_000)).filter((m) => m.event === 'event');
    expect(byId.events().every((e) => e.aggregateId === a)).to.equal(true);
    const correlationId = byId.events()[0].correlationId;
    const byCorrelation = await stream(`/v1/events/stream?correlationId=${correlationId}&after=0`);
    await byCorrelation.waitFor(created.length);
    expect(byCorrelation.events().map((e) => e.eventId)).to.deep.equal(byId.events().map((e) => e.eventId));
    const b = await register();
    await eventually(async () => (await api.get(`/v1/accounts/${b}`)).body.status === 'ACCOUNT_ACTIVE', 20_000);
    await sleep(300);
    expect(byId.events().every((e) => e.aggregateId === a)).to.equal(true);
    expect(byCorrelation.events()).to.have.length(created.length);
  });

  it('answers a bad filter with a 400 problem before any stream starts (nothing written)', async () => {
    const before = await maxPosition();
    const bad = [
      '?type=nope',
      `?type=${encodeURIComponent("account' OR '1'='1")}`,
      '?type=account&id=not-a-uuid',
      '?correlationId=123',
      '?after=-1',
      '?after=1e3',
      '?unknown=1',
    ];
    for (const q of bad) expectProblem(await api.get(`/v1/events/stream${q}`), 400);
    expectProblem(await api.get('/v1/events/stream', { headers: { 'Last-Event-ID': 'abc' } }), 400);
    // A rule between two parameters, which the API document states in words only: not through the contract-checking client.
    const idAlone = await fetch(`${rt.url}/v1/events/stream?id=${randomUUID()}`);
    expect(idAlone.status).to.equal(400);
    expect(idAlone.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(((await idAlone.json()) as { detail: string }).detail).to.match(/id needs type/);
    expect(await maxPosition()).to.equal(before);
  });

  it('resumes after a dropped connection from Last-Event-ID: no gap, no duplicate', async () => {
    const ids = (s: SseConnection) => s.messages.filter((m) => m.event === 'event').map((m) => Number(m.id));
    const first = await stream();
    await insertEvents(sqlClient, 3);
    await first.waitFor(3);
    first.close();
    const last = ids(first).at(-1)!;
    // Written while nobody listens, then live again once resumed.
    await insertEvents(sqlClient, 40);
    await register();
    const resumed = await stream('/v1/events/stream', { 'Last-Event-ID': String(last) });
    await insertEvents(sqlClient, 3);
    // Up to the log's head (the worker may still be adding the account's events): exactly the log after `last`.
    const expected = await eventually(async () => {
      const [p, got] = [await positions(last), ids(resumed)];
      return p.length >= 46 && got.at(-1) === p.at(-1) ? p : undefined;
    });
    expect(ids(resumed)).to.deep.equal(expected);
    // ?after= does the same for clients that cannot set the header.
    const viaQuery = await stream(`/v1/events/stream?after=${last}`);
    await viaQuery.waitFor(expected.length);
    expect(ids(viaQuery).slice(0, expected.length)).to.deep.equal(expected);
  });

  it('never skips an event whose transaction commits late with a smaller position', async () => {
    const s = await stream();
    await sleep(200);
    const late = new pg.Client({ connectionString: rt.env.DATABASE_URL });
    await late.connect();
    try {
      await late.query('BEGIN');
      await insertEvents(late, 1); // takes its position now, commits later
      const [{ position: held }] = (await late.query('SELECT max(position) AS position FROM events')).rows as { position: string }[];
      await register(); // larger positions, committed first
      await eventually(async () => (await positions(Number(held))).length >= 3);
      await sleep(500);
      // Held at the hole: the open transaction began before the later events committed.
      expect(s.events().filter((e) => e.position >= Number(held))).to.deep.equal([]);
      await late.query('COMMIT');
      const expected = await positions(Number(held) - 1);
      await s.waitFor(expected.length);
      const got = s.messages.filter((m) => m.event === 'event').map((m) => Number(m.id));
      expect(got).to.deep.equal(expected);
    } finally {
      await late.end();
    }
  });

  it('passes a rolled-back position quickly, without waiting for the time limit', async () => {
    const s = await stream();
    await sleep(200);
    const rolledBack = new pg.Client({ connectionString: rt.env.DATABASE_URL });
    await rolledBack.connect();
    try {
      await rolledBack.query('BEGIN');
      await insertEvents(rolledBack, 2);
      await rolledBack.query('ROLLBACK');
    } finally {
      await rolledBack.end();
    }
    const skipped = eventFeedOf(rt.services)!.holesSkipped;
    const t0 = Date.now();
    await register();
    await s.waitFor(3, 5_000);
    // EVENT_STREAM_GAP_MS is 15 s here: passing the hole this fast means it was found settled.
    expect(Date.now() - t0).to.be.below(5_000);
    expect(eventFeedOf(rt.services)!.holesSkipped).to.equal(skipped + 2);
  });

  it('drops a client that stops reading once it is over its cap, and it can resume', async () => {
    const slow = await stream();
    const fine = await stream();
    await sleep(200);
    slow.pause();
    const from = await maxPosition();
    const dropped = droppedClients.get(rt.services) ?? 0;
    // Batches of 2 MB until the kernel's socket buffers (several MB on loopback) are full and
    // what the server holds for the client passes the 64 KB cap.
    for (let i = 0; i < 40 && (droppedClients.get(rt.services) ?? 0) === dropped; i++) {
      await insertEvents(sqlClient, 500, 4000);
      await sleep(150);
    }
    await eventually(async () => droppedClients.get(rt.services) === dropped + 1, 5_000);
    // A paused socket does not notice it was cut until it reads again.
    slow.resume();
    await eventually(async () => slow.isClosed(), 5_000);
    // The client that kept reading got everything.
    const all = await positions(from);
    await fine.waitFor(all.length, 20_000);
    expect(fine.messages.filter((m) => m.event === 'event').map((m) => Number(m.id)).filter((p) => p > from)).to.deep.equal(all);
    // The dropped one resumes from the last event it read.
    const read = slow.messages.filter((m) => m.event === 'event');
    const lastRead = read.length ? Number(read.at(-1)!.id) : from;
    const again = await stream('/v1/events/stream', { 'Last-Event-ID': String(lastRead) });
    const rest = all.filter((p) => p > lastRead);
    await again.waitFor(rest.length, 20_000);
    expect(again.messages.filter((m) => m.event === 'event').map((m) => Number(m.id))).to.deep.equal(rest);
  });

  it('runs one poller for all clients', async () => {
    const feed = eventFeedOf(rt.services)!;
    const one = await stream();
    await sleep(100);
    let polls = feed.polls;
    await sleep(1_000);
    const withOne = feed.polls - polls;
    for (let i = 0; i < 9; i++) await stream();
    expect(feed.clients).to.be.at.least(10);
    polls = feed.polls;
    await sleep(1_000);
    const withTen = feed.polls - polls;
    expect(withTen).to.be.at.most(withOne * 1.5 + 2);
    one.close();
  });

  it('is ended by stop(), which does not wait for open streams', async () => {
    const other = await startTestRuntime('event-stream-stop', { CONTEXTS: 'accounts', SHUTDOWN_TIMEOUT_MS: '8000' });
    const a = await openSse(other.url!, '/v1/events/stream');
    const b = await openSse(other.url!, '/v1/events/stream?type=account');
    await sleep(200);
    const t0 = Date.now();
    await other.stop();
    const ms = Date.now() - t0;
    await Promise.all([a.closed, b.closed]);
    expect(ms, `stop took ${ms} ms`).to.be.below(2_000);
    expect(a.isClosed() && b.isClosed()).to.equal(true);
  });
});
