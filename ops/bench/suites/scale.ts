import os from 'node:os';
import pg from 'pg';
import { client } from '../../../test/support/e2e-http';
import { OrderFlow } from '../../../test/support/e2e-cluster';
import { createDb } from '../../../runtime/store/database';
import { loadContexts } from '../../../runtime/context';
import { loadConfig } from '../../../runtime/config';
import { runChecks } from '../../check/run-checks';
import { tunedEnv } from '../env';
import { percentile } from '../load';
import { coresUsed, describeCpu, sampleCpu } from '../proc-cpu';
import { renderTable } from '../report';
import { ScaleCluster, TERMINAL, killStartedByScale, ADDRESS } from '../scale-cluster';
import type { Figure, Suite, SuiteContext } from '../suite';

/*
 * Real processes, one web (ROLE=web) and N workers (ROLE=worker, every context), each
 * deployment fresh (own database and Redis prefix), PARTITIONS=8:
 *   1. orders completed end to end per second with 1, 2 and 4 workers: a fixed number of
 *      orders is kept open in the saga (a closed loop on completions, above what the workers
 *      finish), and the orders that reach ORDER_SUCCEEDED/ORDER_FAILED in a measured window
 *      are counted. 1 worker is the baseline of the same run;
 *   2. recovery with 3 workers and orders flowing at a fixed rate: kill -9 of one worker
 *      (partitions served by the survivors again; the first orders placed after the kill
 *      completed), then SIGTERM of another (hand-over); every order placed must end terminal
 *      and the invariants of `npm run check` must hold, or the suite fails.
 */

const WORKER_COUNTS = [1, 2, 4];
const PRODUCTS = ['SKU-SCALE-1', 'SKU-SCALE-2', 'SKU-SCALE-3', 'SKU-SCALE-4'];
const ACCOUNTS = 8;
/** Whole suite: it gives up (and kills its processes) after this long. */
const SUITE_LIMIT_MS = 270_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Keeps `open` orders in the saga at all times (closed loop on completions): every tick it
 * counts the terminal orders in the read model and posts one new order for each that
 * completed. Unlike a closed loop on POSTs (201 comes back long before the saga ends), the
 * backlog stays bounded, so the workers stay saturated without a queue that grows for the
 * whole window. Never posts more orders than `limit` (the units in stock).
 */
class OpenOrders {
  posted = 0;
  refused = 0;
  firstError?: string;
  stockLimited = false;
  private posting = 0;
  private n = 0;
  private stopped = false;
  private loop?: Promise<void>;

  constructor(
    private readonly cluster: ScaleCluster,
    private readonly accounts: string[],
    private readonly open: number,
    private readonly limit: number,
  ) {}

  start(): this {
    this.loop = this.run();
    return this;
  }

  /** Stops posting and waits for the POSTs in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const { terminal } = await this.cluster.orderCounts();
        const missing = this.open - (this.posted + this.posting - terminal);
        for (let k = 0; k < missing; k++) {
          if (this.posted + this.posting >= this.limit) {
            this.stockLimited = true;
            break;
          }
          this.postOne();
        }
      } catch (err) {
        this.firstError ??= (err as Error).message;
      }
      await sleep(20);
    }
    while (this.posting > 0) await sleep(10);
  }

  private postOne(): void {
    const i = this.n++;
    this.posting++;
    const body = {
      accountId: this.accounts[i % this.accounts.length],
      lineItems: [{ productId: PRODUCTS[i % PRODUCTS.length], name: 'Scale item', quantity: 1, price: 9.5, tax: 0.5 }],
      shippingAddress: ADDRESS,
    };
    this.cluster.http
      .post('/v1/orders', body)
      .then((r) => {
        if (r.status === 201) this.posted++;
        else {
          this.refused++;
          this.firstError ??= `POST /v1/orders: ${r.status} ${r.body.slice(0, 200)}`;
        }
      })
      .catch((err: Error) => {
        this.refused++;
        this.firstError ??= err.message;
      })
      .finally(() => this.posting--);
  }
}

interface ThroughputResult {
  workers: number;
  perSecond: number;
  completed: number;
  failed: number;
  windowMs: number;
  /** Postgres transactions in the window per order completed in it (every process, the bench's counting too). */
  pgTxPerOrder: number;
  /** CPU of all worker processes together per order completed (NaN without /proc). */
  workerCpuMsPerOrder: number;
  open: number;
  refused: number;
  stockLimited: boolean;
  firstError?: string;
  cpu?: string;
  load: [number, number];
}

interface Knobs {
  warmupMs: number;
  measureMs: number;
  open: number;
  units: number;
  rate: number;
}

async function throughput(ctx: SuiteContext, workers: number, k: Knobs): Promise<ThroughputResult> {
  const env = await ctx.freshEnv(`scale_w${workers}`);
  const loadBefore = os.loadavg()[0];
  ctx.progress(`scale: ${workers} worker${workers > 1 ? 's' : ''} + 1 web: starting processes (load average ${loadBefore.toFixed(1)})`);
  // Deadlines out of the way: saturated orders wait in queues, which is not a failed step.
  const cluster = await ScaleCluster.start(env, workers, { ORDER_STEP_TIMEOUT_MS: '120000' });
  try {
    await cluster.waitUntilServedBy(cluster.workers, { even: true, timeoutMs: 30_000 });
    await cluster.settleAfterRebalance();
    const accounts = await cluster.activeAccounts(ACCOUNTS);
    ctx.progress(`scale: ${workers} worker(s): stocking ${k.units} units`);
    await cluster.stock(PRODUCTS, Math.ceil(k.units / PRODUCTS.length));
    ctx.progress(`scale: ${workers} worker(s): ${k.open} orders kept open; warm-up ${k.warmupMs} ms, then ${k.measureMs} ms measured`);
    const driver = new OpenOrders(cluster, accounts, k.open, k.units).start();
    try {
      await sleep(k.warmupMs);
      const pids = { workers: cluster.workers.map((w) => w.pid), web: [cluster.web.pid] };
      const cpu0 = sampleCpu(pids);
      const tx0 = await cluster.pgTransactions();
      const a = await cluster.orderCounts();
      await sleep(k.measureMs);
      const b = await cluster.orderCounts();
      const tx1 = await cluster.pgTransactions();
      const cpu1 = sampleCpu(pids);
      const windowMs = b.at - a.at;
      const completed = b.terminal - a.terminal;
      const result: ThroughputResult = {
        workers,
        perSecond: (completed * 1000) / windowMs,
        completed,
        failed: completed - (b.succeeded - a.succeeded),
        windowMs,
        pgTxPerOrder: completed ? (tx1 - tx0) / completed : NaN,
        workerCpuMsPerOrder: completed ? ((coresUsed(cpu0, cpu1, 'workers') ?? NaN) * windowMs) / completed : NaN,
        open: k.open,
        refused: driver.refused,
        stockLimited: driver.stockLimited,
        firstError: driver.firstError,
        cpu: describeCpu(cpu0, cpu1),
        load: [loadBefore, os.loadavg()[0]],
      };
      ctx.progress(`scale: ${workers} worker(s): ${result.perSecond.toFixed(1)} orders/s (${completed} in ${(windowMs / 1000).toFixed(1)} s), ${result.pgTxPerOrder.toFixed(1)} pg tx and ${result.workerCpuMsPerOrder.toFixed(1)} ms worker CPU per order${result.cpu ? `; ${result.cpu}` : ''}`);
      return result;
    } finally {
      await driver.stop();
    }
  } finally {
    await cluster.kill();
  }
}

interface RecoveryResult {
  killRecoveryMs: number;
  firstAfterKillMs?: number;
  firstSecondAfterKillMs?: number;
  termHandOverMs: number;
  termExit: string;
  termExitMs: number;
  firstAfterTermMs?: number;
  placed: number;
  refused: number;
  notTerminal: string[];
  otherwise: number;
  latencyP50: number;
  latencyMax: number;
  violations: string[];
  leaseTtlMs: number;
  leaseRenewMs: number;
  load: [number, number];
}

interface Timed {
  id: string;
  status: string;
  created: number;
  updated: number;
}

async function timedOrders(db: pg.Pool, ids: string[]): Promise<Timed[]> {
  const { rows } = await db.query<{ order_id: string; status: string; created: string; updated: string }>(
    `SELECT order_id, status, extract(epoch FROM created_at) * 1000 AS created, extract(epoch FROM updated_at) * 1000 AS updated
       FROM orders WHERE order_id = ANY($1::uuid[])`,
    [ids],
  );
  return rows.map((r) => ({ id: r.order_id, status: r.status, created: Number(r.created), updated: Number(r.updated) }));
}

/** Of the orders placed at or after `since` (epoch ms): when the first one completed, and when all placed within `withinMs` of it had. */
function completedAfter(orders: Timed[], since: number, withinMs: number): { first?: number; all?: number } {
  const after = orders.filter((o) => o.created >= since && TERMINAL.includes(o.status as (typeof TERMINAL)[number])).sort((x, y) => x.created - y.created);
  if (after.length === 0) return {};
  const window = after.filter((o) => o.created < since + withinMs);
  return { first: after[0].updated - since, all: window.length ? Math.max(...window.map((o) => o.updated)) - since : undefined };
}

async function recovery(ctx: SuiteContext, k: Knobs): Promise<RecoveryResult> {
  const env = await ctx.freshEnv('scale_recovery');
  const loadBefore = os.loadavg()[0];
  const lease = loadConfig(tunedEnv()).leases;
  ctx.progress(`scale: recovery: 3 workers + 1 web, ${k.rate} orders/s (load average ${loadBefore.toFixed(1)})`);
  // The fault tests' settings as they are (3 s step deadlines): orders caught by the kill resume soon.
  const cluster = await ScaleCluster.start(env, 3);
  try {
    await cluster.waitUntilServedBy(cluster.workers, { even: true, timeoutMs: 30_000 });
    await cluster.settleAfterRebalance();
    const accounts = await cluster.activeAccounts(4);
    // Enough for the whole scenario (about 15 s of orders) twice over.
    await cluster.stock(PRODUCTS, Math.max(100, Math.ceil((k.rate * 30) / PRODUCTS.length)));
    const flow = new OrderFlow(client(cluster.web.url), { accounts, products: PRODUCTS }).start(k.rate);
    let killRecoveryMs = 0;
    let killAt = 0;
    let termAt = 0;
    let term: { code: number | null; signal: NodeJS.Signals | null; ms: number } | undefined;
    let termHandOverMs = 0;
    try {
      await sleep(3_000);
      const [victim, ...survivors] = cluster.live();
      ctx.progress(`scale: recovery: kill -9 of worker pid ${victim.pid}`);
      killAt = Date.now();
      process.kill(victim.pid, 'SIGKILL');
      killRecoveryMs = await cluster.waitUntilServedBy(survivors, { timeoutMs: 30_000 });
      ctx.progress(`scale: recovery: every partition served by the 2 survivors ${killRecoveryMs.toFixed(0)} ms after the kill (LEASE_TTL_MS ${lease.ttlMs})`);
      await sleep(3_000);

      const [leaving, staying] = survivors;
      ctx.progress(`scale: recovery: SIGTERM of worker pid ${leaving.pid}`);
      termAt = Date.now();
      const stopping = leaving.stop(20_000);
      termHandOverMs = await cluster.waitUntilServedBy([staying], { timeoutMs: 20_000 });
      term = await stopping;
      ctx.progress(`scale: recovery: partitions handed over ${termHandOverMs.toFixed(0)} ms after SIGTERM; it exited (code ${term.code}) after ${term.ms} ms`);
      await sleep(2_000);
    } finally {
      await flow.stop();
    }
    const ids = flow.ids;
    ctx.progress(`scale: recovery: ${ids.length} orders placed; waiting for every one to end`);
    const idSet = new Set(ids);
    await waitSettled(cluster, ids, 60_000);
    const orders = await timedOrders(cluster.db, ids);
    const terminal = orders.filter((o) => TERMINAL.includes(o.status as (typeof TERMINAL)[number]));
    const seen = new Set(orders.map((o) => o.id));
    const notTerminal = [
      ...orders.filter((o) => !TERMINAL.includes(o.status as (typeof TERMINAL)[number])).map((o) => `${o.id}: ${o.status}`),
      ...[...idSet].filter((id) => !seen.has(id)).map((id) => `${id}: not in the read model`),
    ];
    const otherwise = terminal.filter((o) => o.status !== (flow.declined.has(o.id) ? 'ORDER_FAILED' : 'ORDER_SUCCEEDED')).length;
    const latencies = terminal.map((o) => o.updated - o.created);
    const afterKill = completedAfter(orders, killAt, 1_000);
    const afterTerm = completedAfter(orders, termAt, 1_000);

    const checkDb = createDb(env.databaseUrl, 2);
    let violations: string[];
    try {
      const report = await runChecks(checkDb, loadContexts('all'), 0);
      violations = report.checks.flatMap((c) => c.violations.map((v) => `${c.name}: ${v}`));
    } finally {
      await checkDb.destroy();
    }
    return {
      killRecoveryMs,
      firstAfterKillMs: afterKill.first,
      firstSecondAfterKillMs: afterKill.all,
      termHandOverMs,
      termExit: term ? (term.signal ? `signal ${term.signal}` : `code ${term.code}`) : 'not stopped',
      termExitMs: term?.ms ?? NaN,
      firstAfterTermMs: afterTerm.first,
      placed: ids.length,
      refused: flow.refused.length,
      notTerminal,
      otherwise,
      latencyP50: percentile(latencies, 50),
      latencyMax: latencies.length ? Math.max(...latencies) : NaN,
      violations,
      leaseTtlMs: lease.ttlMs,
      leaseRenewMs: lease.renewMs,
      load: [loadBefore, os.loadavg()[0]],
    };
  } finally {
    await cluster.kill();
  }
}

/** Waits until every order is terminal, at most `timeoutMs`; the caller counts what is not. */
async function waitSettled(cluster: ScaleCluster, ids: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { rows } = await cluster.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM orders WHERE order_id = ANY($1::uuid[]) AND status = ANY($2::text[])`, [ids, TERMINAL]);
    if (rows[0].n === ids.length) return;
    await sleep(250);
  }
}

const ms = (v: number | undefined) => (v === undefined ? NaN : v);

/**
 * What scaling out costs per order, per worker count against 1 worker of the same run: worker
 * CPU and Postgres transactions per order (goal of issue 14: within 1.2× with 4 workers).
 */
function costFigures(results: ThroughputResult[]): Figure[] {
  const base = results.find((r) => r.workers === 1);
  const figures: Figure[] = [];
  for (const [name, unit, of] of [
    ['worker CPU per order', 'ms', (r: ThroughputResult) => r.workerCpuMsPerOrder],
    ['Postgres transactions per order', 'tx', (r: ThroughputResult) => r.pgTxPerOrder],
  ] as const) {
    for (const r of results) {
      const figure: Figure = { name: `${name}, ${r.workers} worker${r.workers > 1 ? 's' : ''}`, value: of(r), unit };
      if (base && r !== base) {
        figure.baseline = of(base);
        figure.ratio = { value: of(r) / of(base), label: '÷ 1 worker' };
        if (r.workers === 4) figure.goal = { op: '<=', value: 1.2 };
      }
      figures.push(figure);
    }
  }
  return figures;
}

function throughputFigures(results: ThroughputResult[]): Figure[] {
  const base = results.find((r) => r.workers === 1);
  return results.map((r) => {
    const notes = [
      `${r.completed} orders terminal in ${(r.windowMs / 1000).toFixed(1)} s with ${r.open} kept open`,
      r.failed ? `${r.failed} of them ORDER_FAILED` : 'all ORDER_SUCCEEDED',
      `${r.pgTxPerOrder.toFixed(1)} Postgres transactions and ${r.workerCpuMsPerOrder.toFixed(1)} ms of worker CPU per order`,
      `load average ${r.load[0].toFixed(1)} → ${r.load[1].toFixed(1)}`,
    ];
    if (r.cpu) notes.push(r.cpu);
    if (r.refused) notes.push(`${r.refused} POSTs refused: ${r.firstError}`);
    if (r.stockLimited) notes.push('posting stopped at the stock: raise BENCH_SCALE_UNITS');
    const figure: Figure = {
      name: `orders completed, ${r.workers} worker${r.workers > 1 ? 's' : ''} + 1 web`,
      value: r.perSecond,
      unit: 'orders/s',
      note: notes.join('; '),
    };
    if (base && r !== base) {
      figure.baseline = base.perSecond;
      figure.ratio = { value: r.perSecond / base.perSecond, label: '÷ 1 worker' };
      if (r.workers === 4) figure.goal = { op: '>=', value: 0.9 };
    }
    return figure;
  });
}

function recoveryFigures(r: RecoveryResult): Figure[] {
  const figures: Figure[] = [
    {
      name: 'kill -9 (3 → 2 workers): every partition served again',
      value: r.killRecoveryMs,
      unit: 'ms',
      baseline: r.leaseTtlMs,
      ratio: { value: r.killRecoveryMs / r.leaseTtlMs, label: '÷ LEASE_TTL_MS' },
      note: `from SIGKILL until /v1/ops/partitions shows every partition of every group owned by a survivor (polled every 50 ms); the dead worker's leases run out LEASE_TTL_MS (${r.leaseTtlMs}) after its last renewal, which was up to LEASE_RENEW_MS (${r.leaseRenewMs}) before the kill, and the survivors take them on their next round: expected within TTL ± RENEW; load average ${r.load[0].toFixed(1)} → ${r.load[1].toFixed(1)}`,
    },
    { name: 'kill -9: first order placed after it completed', value: ms(r.firstAfterKillMs), unit: 'ms after kill', note: 'read model updated_at of the first order created after the kill; an order whose saga touches none of the dead worker\'s partitions is not held up by it' },
    { name: 'kill -9: every order placed in the 1st second after it completed', value: ms(r.firstSecondAfterKillMs), unit: 'ms after kill' },
    { name: 'SIGTERM (2 → 1 worker): partitions handed over', value: r.termHandOverMs, unit: 'ms', note: `from SIGTERM until the last worker owns every partition; the stopping worker exited (${r.termExit}) after ${r.termExitMs} ms` },
    { name: 'SIGTERM: first order placed after it completed', value: ms(r.firstAfterTermMs), unit: 'ms after SIGTERM' },
    { name: 'order latency during the faults p50 / max', value: r.latencyP50, unit: 'ms', note: `max ${r.latencyMax.toFixed(0)} ms (read model created_at → updated_at)` },
    {
      name: 'orders terminal after the faults',
      value: r.placed - r.notTerminal.length,
      unit: 'orders',
      baseline: r.placed,
      ratio: { value: r.placed ? (r.placed - r.notTerminal.length) / r.placed : 0, label: 'terminal ÷ placed' },
      goal: { op: '>=', value: 1 },
      note:
        `${r.placed} placed at a fixed rate (every 5th declined by the gateway), ${r.refused} POSTs refused; ` +
        `${r.otherwise} ended otherwise than their amount says; ${r.violations.length} invariant violations (npm run check)` +
        (r.notTerminal.length ? `; NOT TERMINAL: ${r.notTerminal.slice(0, 5).join(', ')}` : ''),
    },
  ];
  return figures;
}

function knobs(ctx: SuiteContext): Knobs {
  return {
    warmupMs: ctx.knob('SCALE_WARMUP_MS', 10_000),
    measureMs: ctx.knob('MEASURE_MS', 15_000),
    open: ctx.knob('SCALE_OPEN', 64),
    units: ctx.knob('SCALE_UNITS', 8_000),
    rate: ctx.knob('SCALE_RATE', 10),
  };
}

/** Set when the suite gave up on time, so that a phase still running starts no more processes. */
interface RunState {
  abandoned: boolean;
}

async function runScale(ctx: SuiteContext, state: RunState): Promise<Figure[]> {
  const k = knobs(ctx);
  const next = () => {
    if (state.abandoned) throw new Error('scale suite abandoned');
  };
  const results: ThroughputResult[] = [];
  for (const workers of WORKER_COUNTS) {
    next();
    results.push(await throughput(ctx, workers, k));
  }
  next();
  const rec = await recovery(ctx, k);
  const figures = [...throughputFigures(results), ...costFigures(results), ...recoveryFigures(rec)];
  if (rec.notTerminal.length || rec.violations.length) {
    // A broken guarantee fails the run; the figures are printed first so the run is not lost.
    ctx.progress(renderTable('scale (FAILED)', figures));
    for (const line of rec.notTerminal) ctx.progress(`not terminal: ${line}`);
    for (const line of rec.violations) ctx.progress(`invariant violated: ${line}`);
    throw new Error(`${rec.notTerminal.length} of ${rec.placed} orders not terminal, ${rec.violations.length} invariant violations after kill -9 / SIGTERM`);
  }
  return figures;
}

export const scaleSuite: Suite = {
  name: 'scale',
  description: 'real processes: orders completed per second with 1, 2 and 4 workers (+1 web); recovery after kill -9 and SIGTERM of a worker',
  async run(ctx: SuiteContext): Promise<Figure[]> {
    const state: RunState = { abandoned: false };
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        state.abandoned = true;
        reject(new Error(`scale suite still running after ${SUITE_LIMIT_MS} ms; giving up`));
      }, SUITE_LIMIT_MS);
    });
    try {
      return await Promise.race([runScale(ctx, state), limit]);
    } finally {
      clearTimeout(timer);
      const left = await killStartedByScale();
      if (left) ctx.progress(`scale: killed ${left} process(es) still running`);
    }
  },
};
