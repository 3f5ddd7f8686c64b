import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import Redis from 'ioredis';
import { loadConfig } from '../../../runtime/config';
import { startRuntime, type Runtime } from '../../../runtime/roles';
import { JsonClient } from '../http-client';
import { percentile, rate, runConcurrent, waitUntil } from '../load';
import { UNCAPPED, runtimeEnv } from '../env';
import type { Figure, Suite, SuiteContext } from '../suite';

/*
 * The order saga end to end, both roles in one process (all contexts):
 *   0. warm-up: BENCH_SAGA_WARMUP orders run through the saga first and are not counted, so
 *      the figures are those of a running service (V8 has compiled the hot paths, the pools
 *      and caches are filled), not of its first second;
 *   1. throughput: N orders posted with a closed loop of 32, timed until every order is
 *      ORDER_SUCCEEDED;
 *   2. latency at a fixed offered rate (open loop): POST → ORDER_SUCCEEDED, p50/p99, from
 *      the server's own timestamps (order created_at → updated_at of the final event);
 *   3. the baseline, in the same run: the same rows and stream entries per order written by
 *      plain pg and ioredis, batched as a careful hand-written service would
 *      (`handWrittenSaga` below), with the same 32 orders in flight.
 */
const ADDRESS = { street1: '1 Main St', city: 'Springfield', state: 'OR', country: 'US', zipCode: '97477' };
const SKU = 'SKU-BENCH';

const order = (accountId: string) => ({ accountId, lineItems: [{ productId: SKU, name: 'Bench item', quantity: 1, price: 9.5, tax: 0.5 }], shippingAddress: ADDRESS });

async function count(rt: Runtime, where: string): Promise<number> {
  const r = await rt.services.db.raw<{ rows: { n: number }[] }>(`SELECT count(*)::int AS n FROM orders WHERE ${where}`);
  return r.rows[0].n;
}

async function stock(http: JsonClient, units: number): Promise<void> {
  const w = await http.post('/v1/warehouses', { name: 'Bench', address: ADDRESS });
  const warehouseId = JSON.parse(w.body).warehouseId as string;
  for (let left = units; left > 0; left -= 1000) {
    const r = await http.post(`/v1/warehouses/${warehouseId}/inventory`, { productId: SKU, quantity: Math.min(1000, left) });
    if (r.status !== 201) throw new Error(`stocking failed: ${r.status} ${r.body}`);
  }
}

/*
 * The hand-written baseline: what one order of the saga writes, measured by
 * `npx tsx ops/bench/order-writes.ts` (2026-12-02, 200 orders after 50 warm-up), written by
 * plain pg and ioredis as a careful hand-written service would, in five steps (the POST, then
 * four stream hops), each hop one transaction per batch of messages read (multi-row inserts,
 * one UPDATE ... FROM unnest per table), its stream entries published after the commit in one
 * pipeline with the XACKs, its outbox rows deleted in one statement. Per order, as the saga:
 *   events 19 inserts, outbox 26 inserts + 26 deletes = 26 XADD, inbox 8 inserts,
 *   orders 1 insert + 5 updates, timers 1 insert + 3 updates + 1 delete, reservations 1,
 *   inventory 2 updates, inventory_allocations 1, payments 1 insert + 1 update,
 *   payment_gateway_charges 1.
 * Own tables in schema `hand` (same keys: events unique on stream and version, inbox on
 * consumer and message), one stream per hop; not done here: the payment job queue (BullMQ,
 * about 4 more stream entries and 5 scripts per order in the saga), partitions, leases,
 * the relay's polling, retries, dead letters.
 */
const HOPS: { events: number; inbox: number; outbox: number; does: string[] }[] = [
  { events: 1, inbox: 0, outbox: 2, does: ['orders+', 'timers+'] }, // POST /v1/orders
  { events: 5, inbox: 2, outbox: 6, does: ['reservations+', 'allocations+', 'inventory~', 'orders~', 'timers~'] },
  { events: 5, inbox: 2, outbox: 6, does: ['payments+', 'charges+', 'orders~', 'timers~'] },
  { events: 4, inbox: 2, outbox: 6, does: ['payments~', 'orders~', 'orders~', 'timers~'] },
  { events: 4, inbox: 2, outbox: 6, does: ['inventory~', 'orders~', 'timers-'] },
];

const HAND_SCHEMA = `
  DROP SCHEMA IF EXISTS hand CASCADE; CREATE SCHEMA hand;
  CREATE TABLE hand.events (event_id uuid PRIMARY KEY, stream_id text NOT NULL, version int NOT NULL, type text NOT NULL, data jsonb NOT NULL, metadata jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), UNIQUE (stream_id, version));
  CREATE TABLE hand.outbox (id bigserial PRIMARY KEY, topic text NOT NULL, partition int NOT NULL, message jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
  CREATE TABLE hand.inbox (consumer text NOT NULL, message_id uuid NOT NULL, processed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (consumer, message_id));
  CREATE TABLE hand.orders (order_id uuid PRIMARY KEY, status text NOT NULL, version int NOT NULL, data jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());
  CREATE TABLE hand.timers (order_id uuid PRIMARY KEY, due_at timestamptz NOT NULL, step text NOT NULL);
  CREATE TABLE hand.reservations (reservation_id uuid PRIMARY KEY, order_id uuid NOT NULL, data jsonb NOT NULL);
  CREATE TABLE hand.inventory (unit int PRIMARY KEY, status text NOT NULL, order_id uuid);
  CREATE TABLE hand.allocations (order_id uuid NOT NULL, unit int NOT NULL, PRIMARY KEY (order_id, unit));
  CREATE TABLE hand.payments (payment_id uuid PRIMARY KEY, order_id uuid NOT NULL, status text NOT NULL);
  CREATE TABLE hand.charges (charge_id uuid PRIMARY KEY, payment_id uuid NOT NULL, amount numeric NOT NULL);
`;

interface HandOrder { id: string; unit: number; version: number }

async function handWrittenSaga(databaseUrl: string, redisUrl: string, prefix: string, orders: number, concurrency: number, poolMax: number) {
  const pool = new Pool({ connectionString: databaseUrl, max: poolMax, application_name: 'tributary-bench-hand' });
  pool.on('error', () => undefined);
  await pool.query(HAND_SCHEMA);
  await pool.query(`INSERT INTO hand.inventory (unit, status) SELECT g, 'AVAILABLE' FROM generate_series(0, $1) g`, [orders]);
  const key = (hop: number) => `${prefix}hand:hop${hop}`;
  const side = `${prefix}hand:events`;
  const pub = new Redis(redisUrl);
  const readers = HOPS.map(() => new Redis(redisUrl));
  for (let h = 1; h < HOPS.length; h++) await pub.xgroup('CREATE', key(h), 'hand', '$', 'MKSTREAM');
  const done = new Map<string, () => void>();
  const envelope = (o: HandOrder, type: string, version: number) =>
    JSON.stringify({ id: randomUUID(), type, stream: 'orders', actor: { type: 'order', id: o.id }, version, correlationId: o.id, causationId: randomUUID(), occurredAt: new Date().toISOString(), data: { orderId: o.id, unit: o.unit, version } });

  /** One hop for a batch of orders: one transaction, then XADD + XACK in one pipeline, then the outbox DELETE. */
  async function step(hop: number, batch: HandOrder[], acks: string[]): Promise<void> {
    const spec = HOPS[hop];
    const ids = batch.map((o) => o.id);
    const c = await pool.connect();
    let outboxIds: string[] = [];
    const messages: { stream: string; body: string }[] = [];
    try {
      await c.query('BEGIN');
      if (spec.inbox) {
        const inbox = batch.flatMap(() => Array.from({ length: spec.inbox }, () => randomUUID()));
        await c.query(`INSERT INTO hand.inbox (consumer, message_id) SELECT 'hop${hop}', unnest($1::uuid[]) ON CONFLICT DO NOTHING`, [inbox]);
      }
      const ev = { id: [] as string[], stream: [] as string[], version: [] as number[], data: [] as string[] };
      for (const o of batch) for (let e = 0; e < spec.events; e++) {
        o.version++;
        ev.id.push(randomUUID()); ev.stream.push(`order-${o.id}`); ev.version.push(o.version); ev.data.push(envelope(o, `HOP${hop}_${e}`, o.version));
      }
      await c.query(
        `INSERT INTO hand.events (event_id, stream_id, version, type, data, metadata) SELECT e, s, v, 'STEP', d::jsonb, '{}' FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[]) AS t(e, s, v, d)`,
        [ev.id, ev.stream, ev.version, ev.data],
      );
      for (const what of spec.does) {
        switch (what) {
          case 'orders+': await c.query(`INSERT INTO hand.orders (order_id, status, version, data) SELECT unnest($1::uuid[]), 'ORDER_CREATED', 1, '{"lines":1}'`, [ids]); break;
          case 'orders~': await c.query(`UPDATE hand.orders o SET status = 'HOP${hop}', version = v.version, updated_at = now() FROM unnest($1::uuid[], $2::int[]) AS v(id, version) WHERE o.order_id = v.id`, [ids, batch.map((o) => o.version)]); break;
          case 'timers+': await c.query(`INSERT INTO hand.timers (order_id, due_at, step) SELECT unnest($1::uuid[]), now() + interval '2 minutes', 'resume'`, [ids]); break;
          case 'timers~': await c.query(`UPDATE hand.timers SET due_at = now() + interval '2 minutes', step = 'hop${hop}' WHERE order_id = ANY($1::uuid[])`, [ids]); break;
          case 'timers-': await c.query(`DELETE FROM hand.timers WHERE order_id = ANY($1::uuid[])`, [ids]); break;
          case 'reservations+': await c.query(`INSERT INTO hand.reservations (reservation_id, order_id, data) SELECT gen_random_uuid(), unnest($1::uuid[]), '{"quantity":1}'`, [ids]); break;
          case 'allocations+': await c.query(`INSERT INTO hand.allocations (order_id, unit) SELECT * FROM unnest($1::uuid[], $2::int[])`, [ids, batch.map((o) => o.unit)]); break;
          case 'inventory~': await c.query(`UPDATE hand.inventory i SET status = 'HOP${hop}', order_id = v.id FROM unnest($1::uuid[], $2::int[]) AS v(id, unit) WHERE i.unit = v.unit`, [ids, batch.map((o) => o.unit)]); break;
          case 'payments+': await c.query(`INSERT INTO hand.payments (payment_id, order_id, status) SELECT gen_random_uuid(), unnest($1::uuid[]), 'PAYMENT_PENDING'`, [ids]); break;
          case 'payments~': await c.query(`UPDATE hand.payments SET status = 'PAYMENT_SUCCEEDED' WHERE order_id = ANY($1::uuid[])`, [ids]); break;
          case 'charges+': await c.query(`INSERT INTO hand.charges (charge_id, payment_id, amount) SELECT gen_random_uuid(), p.payment_id, 10 FROM hand.payments p WHERE p.order_id = ANY($1::uuid[])`, [ids]); break;
        }
      }
      const topic: string[] = [];
      const body: string[] = [];
      for (const o of batch) for (let m = 0; m < spec.outbox; m++) {
        const stream = m === 0 && hop + 1 < HOPS.length ? key(hop + 1) : side;
        const b = m === 0 ? JSON.stringify({ id: o.id, unit: o.unit, version: o.version }) : envelope(o, `OUT${hop}_${m}`, o.version);
        topic.push(stream); body.push(b); messages.push({ stream, body: b });
      }
      outboxIds = (await c.query<{ id: string }>(`INSERT INTO hand.outbox (topic, partition, message) SELECT t, 0, m::jsonb FROM unnest($1::text[], $2::text[]) AS x(t, m) RETURNING id`, [topic, body])).rows.map((r) => r.id);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
    const p = pub.pipeline();
    for (const m of messages) p.xadd(m.stream, 'MAXLEN', '~', '100000', '*', 'm', m.body);
    if (acks.length) p.xack(key(hop), 'hand', ...acks);
    await p.exec();
    await pool.query('DELETE FROM hand.outbox WHERE id = ANY($1::bigint[])', [outboxIds]);
    if (hop === HOPS.length - 1) for (const o of batch) done.get(o.id)?.();
  }

  let running = true;
  const loops = HOPS.slice(1).map(async (_, i) => {
    const hop = i + 1;
    const r = readers[hop];
    while (running) {
      const res = (await r.xreadgroup('GROUP', 'hand', 'c', 'COUNT', 200, 'BLOCK', 20, 'STREAMS', key(hop), '>')) as [string, [string, string[]][]][] | null;
      if (!res) continue;
      const entries = res[0][1];
      await step(hop, entries.map(([, f]) => JSON.parse(f[1]) as HandOrder), entries.map(([id]) => id));
    }
  });
  const placeOne = (i: number) => new Promise<void>((resolve, reject) => {
    const o: HandOrder = { id: randomUUID(), unit: i, version: 0 };
    done.set(o.id, () => { done.delete(o.id); resolve(); });
    step(0, [o], []).catch(reject);
  });
  try {
    const warm = Math.min(100, Math.floor(orders / 4));
    await runConcurrent(warm, concurrency, (i) => placeOne(orders - i), 120_000);
    const started = performance.now();
    const result = await runConcurrent(orders - warm, concurrency, placeOne, 300_000);
    const elapsed = performance.now() - started;
    const counts = (await pool.query<{ events: string; inbox: string; outbox: string }>(`SELECT (SELECT count(*) FROM hand.events) AS events, (SELECT count(*) FROM hand.inbox) AS inbox, (SELECT count(*) FROM hand.outbox) AS outbox`)).rows[0];
    return { result, elapsed, orders: orders - warm, counts };
  } finally {
    running = false;
    await Promise.allSettled(loops);
    await pool.query('DROP SCHEMA hand CASCADE').catch(() => undefined);
    await pool.end().catch(() => undefined);
    pub.disconnect();
    for (const r of readers) r.disconnect();
  }
}

export const sagaSuite: Suite = {
  name: 'saga',
  description: 'orders completed end to end per second vs the same writes per order by hand (pg + ioredis); POST → ORDER_SUCCEEDED latency at a fixed rate',
  async run(ctx: SuiteContext): Promise<Figure[]> {
    const orders = ctx.knob('ORDERS', 1000);
    const warmup = ctx.knob('SAGA_WARMUP', 300);
    const offered = ctx.knob('SAGA_RATE', 100);
    const sustainable = ctx.knob('SAGA_LOW_RATE', 20);
    const seconds = ctx.knob('SAGA_SECONDS', 10);
    const env = await ctx.freshEnv('saga');
    const config = loadConfig(runtimeEnv(env, {
      ORDER_STEP_TIMEOUT_MS: '120000',
      ...UNCAPPED,
    }));
    const rt = await startRuntime(config);
    const http = new JsonClient(rt.url!, 64);
    try {
      const account = JSON.parse((await http.post('/v1/accounts', { firstName: 'Bench', lastName: 'Mark', email: `bench-${randomUUID()}@example.com` })).body).accountId as string;
      await waitUntil(async () => (await rt.services.actors.load('account', account)).status === 'ACCOUNT_ACTIVE', 30_000);
      const total = warmup + orders + (offered + sustainable) * seconds + 100;
      ctx.progress(`saga: stocking ${total} units`);
      await stock(http, total);
      await waitUntil(async () => {
        const r = await rt.services.db.raw<{ rows: { n: number }[] }>(`SELECT count(*)::int AS n FROM inventory WHERE status = 'RESERVATION_PENDING'`);
        return r.rows[0].n >= total;
      }, 120_000, 200);

      // 0. warm-up, not measured
      if (warmup > 0) {
        ctx.progress(`saga: warm-up, ${warmup} orders`);
        await runConcurrent(warmup, 32, async () => {
          const r = await http.post('/v1/orders', order(account));
          if (r.status !== 201) throw new Error(`${r.status} ${r.body}`);
        });
        await waitUntil(async () => (await count(rt, `status NOT IN ('ORDER_SUCCEEDED', 'ORDER_FAILED')`)) === 0, 300_000, 100);
      }
      const before = await count(rt, `status = 'ORDER_SUCCEEDED'`);

      // 1. throughput, closed loop
      ctx.progress(`saga: ${orders} orders, 32 in flight`);
      const started = performance.now();
      const posted = await runConcurrent(orders, 32, async () => {
        const r = await http.post('/v1/orders', order(account));
        if (r.status !== 201) throw new Error(`${r.status} ${r.body}`);
      });
      await waitUntil(async () => (await count(rt, `status NOT IN ('ORDER_SUCCEEDED', 'ORDER_FAILED')`)) === 0, 300_000, 100);
      const elapsed = performance.now() - started;
      const succeeded = (await count(rt, `status = 'ORDER_SUCCEEDED'`)) - before;

      // 2. latency at fixed offered rates, open loop: one the saga keeps up with, then the issue's
      const latencyAt = async (perSecond: number) => {
        ctx.progress(`saga: ${perSecond} orders/s for ${seconds} s`);
        const since = new Date();
        const sends: Promise<unknown>[] = [];
        const t0 = performance.now();
        for (let i = 0; i < perSecond * seconds; i++) {
          const wait = t0 + (i * 1000) / perSecond - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          sends.push(http.post('/v1/orders', order(account)));
        }
        await Promise.all(sends);
        const sent = (perSecond * seconds * 1000) / (performance.now() - t0);
        await waitUntil(async () => (await count(rt, `created_at >= '${since.toISOString()}' AND status NOT IN ('ORDER_SUCCEEDED', 'ORDER_FAILED')`)) === 0, 300_000, 100);
        const lat = await rt.services.db.raw<{ rows: { ms: number }[] }>(
          `SELECT extract(epoch FROM updated_at - created_at) * 1000 AS ms FROM orders WHERE created_at >= ? AND status = 'ORDER_SUCCEEDED'`,
          [since],
        );
        return { sent, latencies: lat.rows.map((r) => Number(r.ms)) };
      };
      const low = await latencyAt(sustainable);
      const high = await latencyAt(offered);

      // 3. the hand-written baseline: same rows and stream entries per order, plain pg + ioredis
      ctx.progress(`saga: hand-written pg + ioredis baseline, ${orders} orders, 32 in flight`);
      const hand = await handWrittenSaga(env.databaseUrl, env.redisUrl, env.redisPrefix, orders, 32, config.db.poolMax);
      const baseline = rate(hand.result);
      const throughput = (succeeded * 1000) / elapsed;
      return [
        { name: 'orders completed end to end (closed loop, 32 in flight)', value: throughput, unit: 'orders/s', baseline, ratio: { value: throughput / baseline, label: 'saga ÷ hand-written' }, note: `${succeeded} of ${orders} ORDER_SUCCEEDED in ${(elapsed / 1000).toFixed(1)} s, after ${warmup} warm-up orders; goal of issue 14: 350 orders/s` },
        { name: 'POST /v1/orders during that run', value: rate(posted), unit: 'req/s', note: posted.failed ? `${posted.failed} failed: ${posted.firstError}` : undefined },
        { name: `POST → ORDER_SUCCEEDED p50 at ${sustainable}/s offered (${low.sent.toFixed(0)}/s sent)`, value: percentile(low.latencies, 50), unit: 'ms' },
        { name: `POST → ORDER_SUCCEEDED p99 at ${sustainable}/s offered`, value: percentile(low.latencies, 99), unit: 'ms', note: 'a rate below saturation: the latency of the saga itself' },
        { name: `POST → ORDER_SUCCEEDED p50 at ${offered}/s offered (${high.sent.toFixed(0)}/s sent)`, value: percentile(high.latencies, 50), unit: 'ms' },
        { name: `POST → ORDER_SUCCEEDED p99 at ${offered}/s offered`, value: percentile(high.latencies, 99), unit: 'ms', note: 'goal of issue 14: p99 under 120 ms at 100 orders/s; above saturation this measures the queue' },
        {
          name: 'baseline: the same writes per order by hand (pg + ioredis)',
          value: baseline,
          unit: 'orders/s',
          note:
            `${hand.result.ok} of ${hand.orders} orders through 5 steps in ${(hand.elapsed / 1000).toFixed(1)} s` +
            (hand.result.failed ? `, ${hand.result.failed} FAILED (${hand.result.firstError})` : '') +
            `, 32 in flight, pg Pool of ${config.db.poolMax}; per order 19 events, 26 outbox rows = 26 XADD, 8 inbox rows, 6 order writes, 5 timer writes, 8 other rows ` +
            `(counted by ops/bench/order-writes.ts); the POST one transaction per order, each hop one transaction per XREADGROUP batch (COUNT 200) with multi-row statements, ` +
            `XADD + XACK in one pipeline (checked after the run: ${(Number(hand.counts.events) / orders).toFixed(1)} events and ${(Number(hand.counts.inbox) / orders).toFixed(1)} inbox rows per order, ${hand.counts.outbox} outbox rows left); ${(hand.result.cpuMs / hand.result.ok).toFixed(2)} ms of this process's CPU per order; no BullMQ, partitions, leases or relay polling`,
        },
      ];
    } finally {
      http.close();
      await rt.stop();
    }
  },
};
