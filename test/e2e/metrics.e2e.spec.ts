/**
 * `GET /metrics` on a web and a worker process after known traffic: every family of
 * docs/observability.md, each checked against what Postgres, Redis and BullMQ say.
 */
import { expect } from 'chai';
import pg from 'pg';
import { createRedis, type Redis } from '../../runtime/messaging/redis';
import { Topology } from '../../runtime/messaging/topology';
import { Queue } from 'bullmq';
import { freshDeployment, killStartedProcesses, startServer, type ServerProcess } from '../support/e2e-process';
import { client, type Client } from '../support/e2e-http';
import { ADDRESS, activeAccount, line, settledOrder, stockedWarehouse } from '../support/e2e-shop';
import { eventually } from '../support/runtime';
import { caughtUp, streamKeys } from '../support/e2e-streams';
import { scrape, samples, sum, type Sample } from '../support/prometheus-text';

const SETTINGS = {
  CONTEXTS: 'all',
  TIMER_POLL_MS: '100',
  ORDER_STEP_TIMEOUT_MS: '20000',
  PAYMENT_CHARGE_BACKOFF_MS: '100',
  PARTITIONS: '4',
  METRICS_CACHE_MS: '1000',
};

describe('GET /metrics on a web and a worker process', function () {
  this.timeout(120_000);
  let web: ServerProcess;
  let worker: ServerProcess;
  let api: Client;
  let db: pg.Client;
  let redis: Redis;
  let prefix: string;
  let redisUrl: string;
  const orderIds: string[] = [];
  let accountId: string;

  const rows = async <T>(sql: string): Promise<T[]> => (await db.query(sql)).rows as T[];

  before(async () => {
    const env = await freshDeployment('metrics');
    prefix = env.REDIS_PREFIX;
    redisUrl = env.REDIS_URL;
    [web, worker] = await Promise.all([startServer(env, { ...SETTINGS, ROLE: 'web' }), startServer(env, { ...SETTINGS, ROLE: 'worker' })]);
    api = client(web.url);
    db = new pg.Client({ connectionString: env.DATABASE_URL });
    await db.connect();
    redis = createRedis(env.REDIS_URL);

    // Known traffic: an account, a warehouse, two orders that succeed, one no warehouse can fill,
    // one whose payment is declined; a refused command and a 404.
    accountId = await activeAccount(api);
    await stockedWarehouse(api, { 'SKU-A': 5 });
    for (const lines of [[line('SKU-A', 1)], [line('SKU-A', 2)], [line('SKU-A', 50)], [line('SKU-A', 1, 10.01, 0)]]) {
      const r = await api.post('/v1/orders', { accountId, lineItems: lines, shippingAddress: ADDRESS });
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      orderIds.push(r.body.orderId);
    }
    for (const id of orderIds) await settledOrder(api, id);
    expect((await api.post(`/v1/accounts/${accountId}/commands/confirm`, {})).status).to.equal(409);
    expect((await api.get('/v1/accounts/00000000-0000-4000-8000-000000000000')).status).to.equal(404);
    // Everything relayed and handled: the counters cannot move any more.
    await eventually(async () => (await rows<{ n: number }>('SELECT count(*)::int AS n FROM outbox'))[0].n === 0 && caughtUp(redis, await streamKeys(redis, prefix)), 30_000, 100);
  });

  after(async () => {
    await Promise.all([web?.stop(), worker?.stop()]);
    await killStartedProcesses();
    await db?.end();
    redis?.disconnect();
  });

  /** Both processes' samples (counters of one family add up over the deployment). */
  const both = async (): Promise<[Sample[], Sample[]]> => Promise.all([scrape(web.url), scrape(worker.url)]);

  it('counts HTTP requests by route template, method and status, with their duration', async () => {
    const [w] = await both();
    expect(sum(w, 'tributary_http_requests_total', { route: '/v1/orders', method: 'POST', status: '201' })).to.equal(4);
    expect(sum(w, 'tributary_http_requests_total', { route: '/v1/accounts/:id/commands/confirm', method: 'POST', status: '409' })).to.equal(1);
    expect(sum(w, 'tributary_http_requests_total', { route: '/v1/accounts/:id', method: 'GET', status: '404' })).to.equal(1);
    expect(sum(w, 'tributary_http_request_duration_seconds_count', { route: '/v1/orders', method: 'POST' })).to.equal(4);
    expect(sum(w, 'tributary_http_request_duration_seconds_sum', { route: '/v1/orders', method: 'POST' })).to.be.greaterThan(0);
  });

  it('counts events appended per aggregate type and event type, as the event store holds them', async () => {
    const [w, k] = await both();
    const stored = await rows<{ stream_type: string; type: string; n: number }>('SELECT stream_type, type, count(*)::int AS n FROM events GROUP BY 1, 2');
    expect(stored.length).to.be.greaterThan(10);
    for (const r of stored) {
      const labels = { aggregate_type: r.stream_type, event_type: r.type };
      expect(sum(w, 'tributary_events_appended_total', labels) + sum(k, 'tributary_events_appended_total', labels), `${r.stream_type} ${r.type}`).to.equal(r.n);
    }
    expect(sum(w, 'tributary_events_appended_total') + sum(k, 'tributary_events_appended_total')).to.equal(stored.reduce((a, r) => a + r.n, 0));
  });

  it('counts commands executed and refused per aggregate type and command', async () => {
    const [w, k] = await both();
    expect(sum(w, 'tributary_commands_total', { aggregate_type: 'account', command: 'confirm', outcome: 'refused' })).to.equal(1);
    expect(sum(w, 'tributary_commands_total', { aggregate_type: 'account', command: 'register', outcome: 'executed' })).to.equal(1);
    // Every order event came from one executed command of the order (one event each here).
    const orderEvents = await rows<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE stream_type = 'order'`);
    const executed = sum(w, 'tributary_commands_total', { aggregate_type: 'order', outcome: 'executed' }) + sum(k, 'tributary_commands_total', { aggregate_type: 'order', outcome: 'executed' });
    expect(executed).to.be.at.least(1).and.at.most(orderEvents[0].n);
    expect(samples(k, 'tributary_commands_total').every((s) => ['executed', 'refused', 'conflicted'].includes(s.labels.outcome))).to.equal(true);
  });

  it('counts saga outcomes and their POST → terminal duration from the event store', async () => {
    const terminal = await rows<{ type: string; n: number; seconds: number }>(`
      SELECT t.type, count(*)::int AS n, sum(extract(epoch FROM t.created_at - f.created_at))::float8 AS seconds
      FROM events t JOIN events f ON f.stream_id = t.stream_id AND f.version = 1
      WHERE t.stream_type = 'order' AND t.type IN ('ORDER_SUCCEEDED', 'ORDER_FAILED') GROUP BY t.type`);
    const byType = Object.fromEntries(terminal.map((r) => [r.type, r]));
    expect(byType.ORDER_SUCCEEDED?.n).to.equal(2);
    expect(byType.ORDER_FAILED?.n).to.equal(2);
    for (const state of ['ORDER_SUCCEEDED', 'ORDER_FAILED']) {
      const labels = { aggregate_type: 'order', state };
      await eventually(async () => sum(await scrape(worker.url), 'tributary_saga_duration_seconds_count', labels) === byType[state].n, 5_000);
      const now = await scrape(worker.url);
      expect(sum(now, 'tributary_saga_outcomes_total', labels), state).to.equal(byType[state].n);
      expect(sum(now, 'tributary_saga_duration_seconds_sum', labels)).to.be.closeTo(byType[state].seconds, 0.01);
    }
    const k = await scrape(worker.url);
    expect(samples(k, 'tributary_saga_outcomes_total', { aggregate_type: 'order' }).map((s) => s.labels.state).sort()).to.deep.equal(['ORDER_FAILED', 'ORDER_SUCCEEDED']);
  });

  it('reports the outbox backlog and its oldest row, and the messages relayed (worker)', async () => {
    await eventually(async () => {
      const k = await scrape(worker.url);
      return sum(k, 'tributary_outbox_backlog') === 0 && sum(k, 'tributary_outbox_oldest_age_seconds') === 0;
    }, 5_000);
    const [w, k] = await both();
    let entries = 0;
    for (const key of await streamKeys(redis, prefix)) entries += await redis.xlen(key);
    expect(entries).to.be.greaterThan(10);
    expect(sum(k, 'tributary_outbox_relayed_total')).to.equal(entries);
    expect(sum(w, 'tributary_outbox_relayed_total')).to.equal(0);
    expect(samples(w, 'tributary_outbox_backlog')).to.have.length(1);
  });

  it('reports per consumer group and partition: handled (= inbox rows), failed, dead letters, pending, lag, ownership', async () => {
    const [w, k] = await both();
    const inbox = await rows<{ consumer: string; n: number }>('SELECT consumer, count(*)::int AS n FROM inbox GROUP BY consumer');
    expect(inbox.length).to.be.greaterThan(2);
    for (const r of inbox) expect(sum(k, 'tributary_consumer_handled_total', { group: r.consumer }), r.consumer).to.equal(r.n);
    const groups = [...new Set(samples(k, 'tributary_consumer_handled_total').map((s) => s.labels.group))];
    expect(groups.length).to.be.at.least(inbox.length);
    const deadLetters = await redis.xlen(`${prefix}dead-letters`);
    expect(sum(k, 'tributary_consumer_dead_lettered_total')).to.equal(deadLetters);
    expect(sum(k, 'tributary_consumer_failed_total')).to.be.at.least(deadLetters);
    await eventually(async () => {
      const now = await scrape(worker.url);
      return sum(now, 'tributary_consumer_pending') === 0 && sum(now, 'tributary_consumer_lag') === 0;
    }, 5_000);
    for (const group of groups) {
      // This worker is alone: it owns every partition of every group.
      expect(samples(k, 'tributary_consumer_partition_owned', { group }).map((s) => s.value)).to.deep.equal([1, 1, 1, 1]);
      expect(samples(k, 'tributary_consumer_pending', { group })).to.have.length(4);
    }
    expect(samples(w, 'tributary_consumer_handled_total')).to.have.length(0);
    // Labelled by context too: the group's first part.
    for (const x of samples(k, 'tributary_consumer_handled_total')) expect(x.labels.context).to.equal(x.labels.group.split('.')[0]);
  });

  it('reports timers due and fired, and the BullMQ queue counts', async () => {
    const [, k] = await both();
    const due = await rows<{ n: number }>('SELECT count(*)::int AS n FROM timers WHERE due_at <= now()');
    expect(sum(k, 'tributary_timers_due')).to.equal(due[0].n);
    let fired = 0;
    for (const key of await streamKeys(redis, prefix)) fired += ((await redis.xrange(key, '-', '+')) as [string, string[]][]).filter(([, f]) => f.includes('TIMER_FIRED')).length;
    expect(sum(k, 'tributary_timers_fired_total')).to.equal(fired);
    const connection = createRedis(redisUrl, { maxRetriesPerRequest: null });
    const queue = new Queue('payments.charge', { connection, prefix: new Topology(prefix, 1).bullPrefix() });
    try {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
      expect(counts.completed).to.be.at.least(3);
      for (const [state, n] of Object.entries(counts)) expect(sum(k, 'tributary_job_queue_jobs', { queue: 'payments.charge', state }), state).to.equal(n);
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });

  it('reports process metrics (event-loop lag, memory, GC) on both', async () => {
    for (const s of await both()) {
      expect(samples(s, 'tributary_nodejs_eventloop_lag_seconds')).to.have.length(1);
      expect(sum(s, 'tributary_process_resident_memory_bytes')).to.be.greaterThan(10_000_000);
      expect(sum(s, 'tributary_nodejs_heap_size_used_bytes')).to.be.greaterThan(0);
      expect(samples(s, 'tributary_nodejs_gc_duration_seconds_count').length).to.be.greaterThan(0);
    }
  });

  it('reads Postgres and Redis at most once per METRICS_CACHE_MS, however many scrape at once', async () => {
    const collections = async () => sum(await scrape(worker.url), 'tributary_metrics_collections_total');
    // Start right after a collection: the next 1000 ms are served from the cache.
    const first = await collections();
    await eventually(async () => (await collections()) > first, 3_000, 20);
    const before = await collections();
    const begin = Date.now();
    const all = await Promise.all(Array.from({ length: 30 }, () => scrape(worker.url)));
    const elapsed = Date.now() - begin;
    const after = await collections();
    if (elapsed < 800) expect(after - before).to.equal(0);
    else expect(after - before).to.be.at.most(Math.ceil(elapsed / 1000) + 1);
    expect(new Set(all.map((s) => sum(s, 'tributary_metrics_collections_total'))).size).to.be.at.most(2);
  });
});
