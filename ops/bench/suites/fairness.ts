import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../../runtime/config';
import { startRuntime, type Runtime } from '../../../runtime/roles';
import { JsonClient } from '../http-client';
import { percentile, waitUntil } from '../load';
import { runtimeEnv } from '../env';
import { IN_FLIGHT_RETRY_AFTER_SECONDS, orderLimits } from '../../../contexts/orders/limits';
import type { Figure, Suite, SuiteContext } from '../suite';

/*
 * Fairness under a flood (issue 12: 300 orders of 100 lines from one client held an unrelated
 * one-line order for 39 s). Both roles in one process, every context, in one run:
 *   1. the victim alone: one-line orders at BENCH_FAIRNESS_RATE/s for BENCH_FAIRNESS_SECONDS;
 *   2. the same, while another client (another account) posts BENCH_FAIRNESS_FLOOD orders of
 *      100 lines (16 at a time, as fast as it can, ignoring 429s' Retry-After);
 * with the deployment's limits (ORDERS_IN_FLIGHT_PER_ACCOUNT, ORDER_UNITS_IN_FLIGHT_PER_ACCOUNT,
 * RATE_LIMIT_*: defaults unless BENCH_FAIRNESS_CAP sets the units cap), then
 * (BENCH_FAIRNESS_UNCAPPED=1, the default) both phases again with the per-account caps
 * lifted, which is what the issue measured. The flooder honours Retry-After. The victim's
 * latency is POST → ORDER_SUCCEEDED from the server's own timestamps (created_at → updated_at).
 */
const ADDRESS = { street1: '1 Main St', city: 'Springfield', state: 'OR', country: 'US', zipCode: '97477' };
const VICTIM_SKU = 'SKU-VICTIM';
/** The flood's 100 lines name 10 products, 10 lines each, 1 unit a line. */
const FLOOD_SKUS = Array.from({ length: 10 }, (_, i) => `SKU-FLOOD-${i}`);
const LINES = 100;

const victimOrder = (accountId: string) => ({ accountId, lineItems: [{ productId: VICTIM_SKU, name: 'One line', quantity: 1, price: 9.5, tax: 0.5 }], shippingAddress: ADDRESS });
const floodOrder = (accountId: string) => ({
  accountId,
  lineItems: Array.from({ length: LINES }, (_, i) => ({ productId: FLOOD_SKUS[i % FLOOD_SKUS.length], name: `Line ${i}`, quantity: 1, price: 1, tax: 0 })),
  shippingAddress: ADDRESS,
});

async function account(http: JsonClient, rt: Runtime): Promise<string> {
  const r = await http.post('/v1/accounts', { firstName: 'Bench', lastName: 'Fair', email: `fair-${randomUUID()}@example.com` });
  const id = JSON.parse(r.body).accountId as string;
  await waitUntil(async () => (await rt.services.actors.load('account', id)).status === 'ACCOUNT_ACTIVE', 30_000);
  return id;
}

async function stock(http: JsonClient, units: Record<string, number>): Promise<void> {
  const w = await http.post('/v1/warehouses', { name: 'Fair', address: ADDRESS });
  const warehouseId = JSON.parse(w.body).warehouseId as string;
  for (const [productId, total] of Object.entries(units)) {
    for (let left = total; left > 0; left -= 1000) {
      const r = await http.post(`/v1/warehouses/${warehouseId}/inventory`, { productId, quantity: Math.min(1000, left) });
      if (r.status !== 201) throw new Error(`stocking failed: ${r.status} ${r.body}`);
    }
  }
}

const unsettled = async (rt: Runtime) =>
  (await rt.services.db.raw<{ rows: { n: number }[] }>(`SELECT count(*)::int AS n FROM orders WHERE status NOT IN ('ORDER_SUCCEEDED', 'ORDER_FAILED')`)).rows[0].n;

interface Phase {
  latencies: number[];
  failed: number;
  flood?: { placed: number; refused: number; other: number; ms: number };
}

/** The victim's orders at a fixed rate (open loop), with the flood running meanwhile if `flooder` is given. */
async function phase(rt: Runtime, http: JsonClient, victim: string, perSecond: number, seconds: number, floodOrders: number, flooder?: string): Promise<Phase> {
  const ids: string[] = [];
  let flood: Phase['flood'];
  const flooding = flooder
    ? (async () => {
        const started = performance.now();
        let sent = 0;
        let pending = 0;
        const counts = { placed: 0, refused: 0, other: 0 };
        // The flooder keeps going until it has placed its orders (or the victim's phase is long over).
        const worker = async () => {
          while (counts.placed + pending < floodOrders && performance.now() - started < (seconds + 60) * 1000) {
            sent++;
            pending++;
            const r = await http.post('/v1/orders', floodOrder(flooder)).finally(() => pending--);
            if (r.status === 201) counts.placed++;
            else if (r.status === 429) {
              counts.refused++;
              // Greedy but not hostile: it waits as told (a client ignoring Retry-After meets RATE_LIMIT_POINTS).
              await new Promise((res) => setTimeout(res, IN_FLIGHT_RETRY_AFTER_SECONDS * 1000));
            } else counts.other++;
          }
        };
        await Promise.all(Array.from({ length: 16 }, worker));
        flood = { ...counts, ms: performance.now() - started };
        return sent;
      })()
    : Promise.resolve(0);
  // Let the flood take hold before the victim starts.
  if (flooder) await new Promise((r) => setTimeout(r, 1000));
  const sends: Promise<void>[] = [];
  let failed = 0;
  const t0 = performance.now();
  for (let i = 0; i < perSecond * seconds; i++) {
    const wait = t0 + (i * 1000) / perSecond - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    sends.push(
      http.post('/v1/orders', victimOrder(victim)).then((r) => {
        if (r.status === 201) ids.push(JSON.parse(r.body).orderId as string);
        else failed++;
      }),
    );
  }
  await Promise.all(sends);
  await flooding;
  await waitUntil(async () => (await unsettled(rt)) === 0, 600_000, 200);
  const lat = await rt.services.db.raw<{ rows: { ms: number }[] }>(
    `SELECT extract(epoch FROM updated_at - created_at) * 1000 AS ms FROM orders WHERE order_id = ANY (?::uuid[]) AND status = 'ORDER_SUCCEEDED'`,
    [ids],
  );
  return { latencies: lat.rows.map((r) => Number(r.ms)), failed: failed + ids.length - lat.rows.length, flood };
}

async function run(ctx: SuiteContext, label: string, capped: boolean): Promise<Figure[]> {
  const rate = ctx.knob('FAIRNESS_RATE', 5);
  const seconds = ctx.knob('FAIRNESS_SECONDS', 10);
  const floodOrders = ctx.knob('FAIRNESS_FLOOD', 300);
  const cap = ctx.knob('FAIRNESS_CAP', 0);
  const env = await ctx.freshEnv(`fairness-${label}`);
  const rt = await startRuntime(
    loadConfig(runtimeEnv(env, {
      ORDER_STEP_TIMEOUT_MS: '120000',
      ...(capped ? (cap ? { ORDER_UNITS_IN_FLIGHT_PER_ACCOUNT: String(cap) } : {}) : { ORDERS_IN_FLIGHT_PER_ACCOUNT: '1000000', ORDER_UNITS_IN_FLIGHT_PER_ACCOUNT: '1000000000' }),
    })),
  );
  const http = new JsonClient(rt.url!, 64);
  try {
    const victim = await account(http, rt);
    const flooder = await account(http, rt);
    ctx.progress(`fairness (${label}): stocking ${floodOrders * LINES} flood units`);
    const perSku = Math.ceil((floodOrders * LINES) / FLOOD_SKUS.length);
    await stock(http, { [VICTIM_SKU]: rate * seconds * 2 + 10, ...Object.fromEntries(FLOOD_SKUS.map((s) => [s, perSku])) });
    ctx.progress(`fairness (${label}): victim alone, ${rate}/s for ${seconds} s`);
    const alone = await phase(rt, http, victim, rate, seconds, floodOrders);
    ctx.progress(`fairness (${label}): victim during a flood of ${floodOrders} orders of ${LINES} lines`);
    const flooded = await phase(rt, http, victim, rate, seconds, floodOrders, flooder);
    const f = flooded.flood!;
    const limits = orderLimits(rt.services.config.env);
    const cfg = capped ? `ORDERS_IN_FLIGHT_PER_ACCOUNT=${limits.inFlightPerAccount}, ORDER_UNITS_IN_FLIGHT_PER_ACCOUNT=${limits.unitsInFlightPerAccount}` : 'caps lifted';
    return [
      { name: `[${label}] victim p50, alone`, value: percentile(alone.latencies, 50), unit: 'ms' },
      { name: `[${label}] victim p99, alone`, value: percentile(alone.latencies, 99), unit: 'ms', note: alone.failed ? `${alone.failed} victim orders did not succeed` : undefined },
      { name: `[${label}] victim p50, during the flood`, value: percentile(flooded.latencies, 50), unit: 'ms' },
      {
        name: `[${label}] victim p99, during the flood`,
        value: percentile(flooded.latencies, 99),
        unit: 'ms',
        baseline: percentile(alone.latencies, 99),
        ratio: { value: percentile(flooded.latencies, 99) / Math.max(1, percentile(alone.latencies, 99)), label: 'flood ÷ alone' },
        note: `${cfg}; flood: ${f.placed} placed, ${f.refused} refused 429, ${f.other} other in ${(f.ms / 1000).toFixed(1)} s${flooded.failed ? `; ${flooded.failed} victim orders did not succeed` : ''}`,
      },
    ];
  } finally {
    http.close();
    await rt.stop();
  }
}

export const fairnessSuite: Suite = {
  name: 'fairness',
  description: "one client floods 100-line orders while another places one-line orders: the victim's POST → ORDER_SUCCEEDED p50/p99 alone and during the flood, capped and uncapped",
  async run(ctx: SuiteContext): Promise<Figure[]> {
    const figures = await run(ctx, 'capped', true);
    if (ctx.knob('FAIRNESS_UNCAPPED', 1)) figures.push(...(await run(ctx, 'uncapped', false)));
    return figures;
  },
};
