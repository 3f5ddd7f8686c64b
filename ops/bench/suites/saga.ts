import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
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
 *   3. the same run's Postgres ceiling: raw pg transactions of the saga's shape (per order,
 *      STEPS transactions each writing an event, an outbox row and a read-model row).
 */
const ADDRESS = { street1: '1 Main St', city: 'Springfield', state: 'OR', country: 'US', zipCode: '97477' };
const SKU = 'SKU-BENCH';
/**
 * Steps of one order's saga, one transaction each in the yardstick below: fixed, so that the
 * ceiling compares across runs although the runtime batches steps (ops/bench/README.md).
 */
const STEPS = 12;

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

async function rawSagaShape(databaseUrl: string, orders: number, concurrency: number) {
  const pool = new Pool({ connectionString: databaseUrl, max: concurrency });
  await pool.query('CREATE TABLE IF NOT EXISTS bench_saga_rm (id uuid PRIMARY KEY, status text, version int)');
  const message = JSON.stringify({ id: randomUUID(), type: 'STEP', stream: 'orders', actor: { type: 'order', id: randomUUID() }, version: 1, correlationId: randomUUID(), causationId: randomUUID(), occurredAt: new Date().toISOString(), data: { a: 1 } });
  const result = await runConcurrent(orders * STEPS, concurrency, async (i) => {
    const c = await pool.connect();
    try {
      const id = randomUUID();
      await c.query('BEGIN');
      await c.query(`INSERT INTO events (event_id, stream_id, stream_type, version, type, data, metadata) VALUES ($1, $2, 'bench', 1, 'STEP', '{}', '{}')`, [randomUUID(), `bench-${id}`]);
      await c.query('INSERT INTO outbox (topic, partition, message) VALUES ($1, $2, $3)', ['bench', i % 4, message]);
      await c.query('INSERT INTO bench_saga_rm (id, status, version) VALUES ($1, $2, 1) ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status', [id, 'STEP']);
      await c.query('COMMIT');
    } finally {
      c.release();
    }
  });
  await pool.query(`DELETE FROM outbox WHERE topic = 'bench'`);
  await pool.end();
  return result;
}

export const sagaSuite: Suite = {
  name: 'saga',
  description: 'orders completed end to end per second; POST → ORDER_SUCCEEDED latency at a fixed rate; the Postgres ceiling of the saga shape',
  async run(ctx: SuiteContext): Promise<Figure[]> {
    const orders = ctx.knob('ORDERS', 1000);
    const warmup = ctx.knob('SAGA_WARMUP', 300);
    const offered = ctx.knob('SAGA_RATE', 100);
    const sustainable = ctx.knob('SAGA_LOW_RATE', 20);
    const seconds = ctx.knob('SAGA_SECONDS', 10);
    const env = await ctx.freshEnv('saga');
    const rt = await startRuntime(
      loadConfig(runtimeEnv(env, {
        ORDER_STEP_TIMEOUT_MS: '120000',
        ...UNCAPPED,
      })),
    );
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

      // 3. the Postgres ceiling of the saga's shape
      ctx.progress('saga: raw pg transactions of the saga shape');
      const raw = await rawSagaShape(env.databaseUrl, Math.min(orders, 500), 10);
      const ceiling = rate(raw) / STEPS;
      const throughput = (succeeded * 1000) / elapsed;
      return [
        { name: 'orders completed end to end (closed loop, 32 in flight)', value: throughput, unit: 'orders/s', baseline: ceiling, ratio: { value: throughput / ceiling, label: 'saga ÷ pg ceiling' }, note: `${succeeded} of ${orders} ORDER_SUCCEEDED in ${(elapsed / 1000).toFixed(1)} s, after ${warmup} warm-up orders; goal of the issue: 200 orders/s` },
        { name: 'POST /v1/orders during that run', value: rate(posted), unit: 'req/s', note: posted.failed ? `${posted.failed} failed: ${posted.firstError}` : undefined },
        { name: `POST → ORDER_SUCCEEDED p50 at ${sustainable}/s offered (${low.sent.toFixed(0)}/s sent)`, value: percentile(low.latencies, 50), unit: 'ms' },
        { name: `POST → ORDER_SUCCEEDED p99 at ${sustainable}/s offered`, value: percentile(low.latencies, 99), unit: 'ms', note: 'a rate below saturation: the latency of the saga itself' },
        { name: `POST → ORDER_SUCCEEDED p50 at ${offered}/s offered (${high.sent.toFixed(0)}/s sent)`, value: percentile(high.latencies, 50), unit: 'ms' },
        { name: `POST → ORDER_SUCCEEDED p99 at ${offered}/s offered`, value: percentile(high.latencies, 99), unit: 'ms', note: 'goal of the issue: p99 under 500 ms at 100 orders/s; above saturation this measures the queue' },
        { name: `pg ceiling: raw transactions of the saga shape ÷ ${STEPS}`, value: ceiling, unit: 'orders/s', note: `${rate(raw).toFixed(0)} tx/s of (event + outbox + read-model row), 10 connections` },
      ];
    } finally {
      http.close();
      await rt.stop();
    }
  },
};
