import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { loadConfig } from '../../../runtime/config';
import { startRuntime, type Runtime } from '../../../runtime/roles';
import { traceFields } from '../../../runtime/logger';
import { JsonClient } from '../http-client';
import { cpuMsSince, runConcurrent, waitUntil } from '../load';
import { UNCAPPED, runtimeEnv, type BenchEnv } from '../env';
import type { Figure, Suite, SuiteContext } from '../suite';

/*
 * What metrics and trace-id logging cost the order saga: the same closed-loop run (orders
 * posted 32 at a time, timed until every one is terminal) with `METRICS=false
 * LOG_TRACE_IDS=false` and with both on, alternated in one process on one database
 * (a first runtime primes the process and the database unmeasured; then off, on, on, off,
 * off, on, ...) so that drift of the machine and a warmer JIT favour neither. "On" also scrapes
 * `/metrics` every second, as a Prometheus would, and logs at info (a line per request,
 * with the trace fields) to /dev/null; "off" logs the same lines without them.
 *
 * Tracing is off in both (no SDK in this process), so no span is active and the mixin
 * costs its look-up only; the exporter's cost is the tracing's, not the logs'.
 */
const ADDRESS = { street1: '1 Main St', city: 'Springfield', state: 'OR', country: 'US', zipCode: '97477' };
const SKU = 'SKU-METRICS';
const order = (accountId: string) => ({ accountId, lineItems: [{ productId: SKU, name: 'Bench item', quantity: 1, price: 9.5, tax: 0.5 }], shippingAddress: ADDRESS });

async function openOrders(rt: Runtime): Promise<number> {
  const r = await rt.services.db.raw<{ rows: { n: number }[] }>(`SELECT count(*)::int AS n FROM orders WHERE status NOT IN ('ORDER_SUCCEEDED', 'ORDER_FAILED')`);
  return r.rows[0].n;
}

function start(env: BenchEnv, on: boolean): Promise<Runtime> {
  const config = loadConfig(runtimeEnv(env, {
    LOG_LEVEL: 'info',
    ORDER_STEP_TIMEOUT_MS: '120000',
    ...UNCAPPED,
    METRICS: String(on),
    LOG_TRACE_IDS: String(on),
  }));
  // The lines are written, to nowhere: the cost of formatting them is in both runs.
  const log = pino({ level: 'info', base: { pid: process.pid }, ...(on ? { mixin: traceFields } : {}) }, pino.destination({ dest: '/dev/null', sync: false }));
  return startRuntime(config, { log });
}

export const metricsSuite: Suite = {
  name: 'metrics',
  description: 'the cost of metrics and trace-id logging on the saga: orders/s with METRICS and LOG_TRACE_IDS off and on, alternated in one run',
  async run(ctx: SuiteContext): Promise<Figure[]> {
    const orders = ctx.knob('METRICS_ORDERS', 400);
    const warmup = ctx.knob('METRICS_WARMUP', 100);
    const rounds = ctx.knob('METRICS_ROUNDS', 2);
    const env = await ctx.freshEnv('metrics');
    const rates: Record<'off' | 'on', number[]> = { off: [], on: [] };
    /** CPU ms of this process (the runtime and the client) per order: less swayed than orders/s by other work on the machine. */
    const cpu: Record<'off' | 'on', number[]> = { off: [], on: [] };
    let accountId: string | undefined;
    let scrapes = 0;
    const plan: ('prime' | 'off' | 'on')[] = ['prime'];
    for (let round = 0; round < rounds; round++) plan.push(...(round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)));
    for (const mode of plan) {
      const rt = await start(env, mode === 'on');
      const http = new JsonClient(rt.url!, 64);
      let scraper: NodeJS.Timeout | undefined;
      try {
        if (!accountId) {
          const a = await http.post('/v1/accounts', { firstName: 'Bench', lastName: 'Metrics', email: `bench-${randomUUID()}@example.com` });
          accountId = JSON.parse(a.body).accountId as string;
          await waitUntil(async () => (await rt.services.actors.load('account', accountId!)).status === 'ACCOUNT_ACTIVE', 30_000);
          const units = (rounds * 2 + 1) * (orders + warmup) + 100;
          const w = JSON.parse((await http.post('/v1/warehouses', { name: 'Bench', address: ADDRESS })).body).warehouseId as string;
          for (let left = units; left > 0; left -= 1000) await http.post(`/v1/warehouses/${w}/inventory`, { productId: SKU, quantity: Math.min(1000, left) });
          await waitUntil(async () => {
            const r = await rt.services.db.raw<{ rows: { n: number }[] }>(`SELECT count(*)::int AS n FROM inventory WHERE status = 'RESERVATION_PENDING'`);
            return r.rows[0].n >= units;
          }, 120_000, 200);
        }
        const id = accountId;
        if (mode === 'on') {
          scraper = setInterval(() => {
            void fetch(`${rt.url}/metrics`).then((r) => r.arrayBuffer()).then(() => scrapes++, () => undefined);
          }, 1_000);
        }
        const round = Math.floor((rates.off.length + rates.on.length) / 2) + 1;
        ctx.progress(mode === 'prime' ? `metrics: priming, ${warmup + orders} orders` : `metrics: round ${round}/${rounds}, ${mode}: ${warmup} warm-up + ${orders} orders`);
        await runConcurrent(warmup, 32, async () => void (await http.post('/v1/orders', order(id))));
        await waitUntil(async () => (await openOrders(rt)) === 0, 300_000, 50);
        const t0 = performance.now();
        const cpu0 = process.cpuUsage();
        const posted = await runConcurrent(orders, 32, async () => {
          const r = await http.post('/v1/orders', order(id));
          if (r.status !== 201) throw new Error(`${r.status} ${r.body}`);
        });
        await waitUntil(async () => (await openOrders(rt)) === 0, 300_000, 50);
        if (posted.failed) throw new Error(`${posted.failed} orders failed: ${posted.firstError}`);
        if (mode !== 'prime') {
          rates[mode].push((orders * 1000) / (performance.now() - t0));
          cpu[mode].push(cpuMsSince(cpu0) / orders);
        }
      } finally {
        if (scraper) clearInterval(scraper);
        http.close();
        await rt.stop();
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const off = mean(rates.off);
    const on = mean(rates.on);
    const cost = 1 - on / off;
    const cpuOff = mean(cpu.off);
    const cpuOn = mean(cpu.on);
    return [
      { name: 'saga, metrics and trace-id logging off (METRICS=false LOG_TRACE_IDS=false)', value: off, unit: 'orders/s', note: `rounds: ${rates.off.map((r) => r.toFixed(1)).join(', ')}` },
      {
        name: 'saga, metrics and trace-id logging on (scraped every second)',
        value: on,
        unit: 'orders/s',
        baseline: off,
        ratio: { value: cost, label: 'cost: 1 − on ÷ off' },
        goal: { op: '<=', value: 0.05 },
        note: `rounds: ${rates.on.map((r) => r.toFixed(1)).join(', ')}; ${scrapes} scrapes; cost ${(cost * 100).toFixed(1)} % (goal: under 5 %; negative is noise)`,
      },
      { name: 'CPU per order, off (runtime and client, this process)', value: cpuOff, unit: 'ms', note: `rounds: ${cpu.off.map((r) => r.toFixed(2)).join(', ')}` },
      {
        name: 'CPU per order, on',
        value: cpuOn,
        unit: 'ms',
        baseline: cpuOff,
        ratio: { value: cpuOn / cpuOff - 1, label: 'cost: on ÷ off − 1' },
        goal: { op: '<=', value: 0.05 },
        note: `rounds: ${cpu.on.map((r) => r.toFixed(2)).join(', ')}`,
      },
    ];
  },
};
