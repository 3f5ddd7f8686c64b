/**
 * A split deployment of real `tributary start` processes for the scale suite: one web
 * process (ROLE=web) and N worker processes (ROLE=worker), every context, on one bench
 * deployment (its own database and Redis prefix from `freshEnv`, removed when the run ends).
 *
 * Processes are started with the end-to-end tests' `startServer` (spawn, wait for `/readyz`,
 * retry on a port taken meanwhile) and the cluster settings of their fault tests; every one
 * is recorded here and {@link killStartedByScale} kills them by pid, whatever happened.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { killStartedProcesses, startServer, type ServerProcess } from '../../test/support/e2e-process';
import { CLUSTER_SETTINGS, TERMINAL, evenlySpread, pidOf, servedBy } from '../../test/support/e2e-cluster';
import { ADDRESS } from '../../test/support/e2e-shop';
import type { GroupPartitions } from '../../runtime/messaging/partition-report';
import { loadConfig } from '../../runtime/config';
import { tunedEnv, type BenchEnv } from './env';
import { JsonClient } from './http-client';
import { waitUntil } from './load';

export { ADDRESS, TERMINAL };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every process this module started, killed by pid at the end of the suite. */
const started = new Set<ServerProcess>();

async function killByPid(p: ServerProcess): Promise<void> {
  if (p.hasExited()) return;
  try {
    process.kill(p.pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
  await p.exited;
}

/**
 * Kills (SIGKILL, by pid) every process the scale suite started that still runs, then any
 * the test helper spawned and gave up on before it was ready; returns how many were alive.
 */
export async function killStartedByScale(): Promise<number> {
  const alive = [...started].filter((p) => !p.hasExited());
  await Promise.all(alive.map(killByPid));
  started.clear();
  await killStartedProcesses();
  return alive.length;
}

/**
 * The environment of every process of a cluster. `startServer` lays the tests' FAST_SETTINGS
 * (50 ms relay polls, 100 ms blocking reads, 1 s claim idle) under what it is given; a
 * benchmark measures the production defaults instead, or what the environment tunes
 * (`tunedEnv`). On top: the fault tests' CLUSTER_SETTINGS (every context, short saga
 * deadlines and timer polls), 8 partitions, then `extra`.
 */
export function clusterSettings(env: BenchEnv, extra: Record<string, string> = {}): Record<string, string> {
  const tuned = tunedEnv();
  const c = loadConfig(tuned);
  return {
    RELAY_POLL_MS: String(c.relay.pollMs),
    CONSUMER_BLOCK_MS: String(c.consumer.blockMs),
    CONSUMER_RETRY_BASE_MS: String(c.consumer.retryBaseMs),
    CONSUMER_CLAIM_IDLE_MS: String(c.consumer.claimIdleMs),
    SHUTDOWN_TIMEOUT_MS: String(c.shutdownTimeoutMs),
    ...CLUSTER_SETTINGS,
    // At most PARTITIONS workers share a group's work: 8 leaves room for 4 (2 each).
    PARTITIONS: '8',
    ...tuned,
    ...extra,
    CONTEXTS: 'all',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DATABASE_URL: env.databaseUrl,
    REDIS_URL: env.redisUrl,
    REDIS_PREFIX: env.redisPrefix,
  };
}

/** Order counts of the read model at one moment (`at`: performance.now() before the query). */
export interface OrderCounts {
  at: number;
  terminal: number;
  succeeded: number;
  total: number;
}

export class ScaleCluster {
  readonly workers: ServerProcess[] = [];
  /** Keep-alive client to the web process, for the orders the bench offers. */
  readonly http: JsonClient;
  /** The deployment's database, read directly for counts (cheaper than HTTP pages). */
  readonly db: pg.Pool;

  private constructor(readonly env: BenchEnv, readonly settings: Record<string, string>, readonly web: ServerProcess) {
    this.http = new JsonClient(web.url, 128);
    this.db = new pg.Pool({ connectionString: env.databaseUrl, max: 3, application_name: 'tributary-bench-scale' });
  }

  /** Starts the web process (it migrates the fresh database), then `workers` workers in parallel. */
  static async start(env: BenchEnv, workers: number, extra: Record<string, string> = {}): Promise<ScaleCluster> {
    const settings = clusterSettings(env, extra);
    const web = await startServer(settings, { ROLE: 'web' });
    started.add(web);
    const cluster = new ScaleCluster(env, settings, web);
    await Promise.all(Array.from({ length: workers }, () => cluster.addWorker()));
    return cluster;
  }

  async addWorker(): Promise<ServerProcess> {
    const w = await startServer(this.settings, { ROLE: 'worker', MIGRATE_ON_START: 'false' });
    started.add(w);
    this.workers.push(w);
    return w;
  }

  /** Workers still running. */
  live(): ServerProcess[] {
    return this.workers.filter((w) => !w.hasExited());
  }

  /** Kills every process of this cluster by pid and closes the bench's connections to it. */
  async kill(): Promise<void> {
    this.http.close();
    await Promise.all([this.web, ...this.workers].map(killByPid));
    await this.db.end().catch(() => undefined);
  }

  /** `GET /v1/ops/partitions` of the web process: each group's partitions and their owners. */
  async partitions(): Promise<GroupPartitions[]> {
    const r = await fetch(`${this.web.url}/v1/ops/partitions`, { headers: { accept: 'application/hal+json' }, signal: AbortSignal.timeout(5_000) });
    const text = await r.text();
    if (r.status !== 200) throw new Error(`GET /v1/ops/partitions: ${r.status} ${text.slice(0, 300)}`);
    return (JSON.parse(text) as { _embedded: { groupList: GroupPartitions[] } })._embedded.groupList;
  }

  /**
   * Waits until every partition of every group is owned by one of `workers`, each of them
   * holding an even share of every group (⌊P/N⌋ or ⌈P/N⌉) when `even`; returns how long
   * it took (polled every `everyMs`). Throws with the owners seen last when time runs out.
   */
  async waitUntilServedBy(workers: ServerProcess[], { timeoutMs = 20_000, even = false, everyMs = 50 } = {}): Promise<number> {
    const begin = performance.now();
    const pids = new Set(workers.map((w) => w.pid));
    for (;;) {
      const groups = await this.partitions();
      if (servedBy(groups, pids) && (!even || groups.every((g) => evenlySpread(g, pids.size)))) return performance.now() - begin;
      if (performance.now() - begin > timeoutMs) {
        const owners = groups.map((g) => `${g.group}: ${g.partitions.map((p) => (p.owner ? pidOf(p.owner) : '-')).join(',')}`);
        throw new Error(`partitions not ${even ? 'evenly ' : ''}served by pids ${[...pids].join(',')} within ${timeoutMs} ms; owners: ${owners.join('; ')}`);
      }
      await sleep(everyMs);
    }
  }

  /**
   * Waits one blocking read plus one lease round after the partitions moved, so the measured
   * window holds no hand-over: a worker that gave partitions back may still finish a read
   * of them, and their new owner claims what it left once more a read later
   * (`StreamConsumer.adopt`). The recovery figures measure hand-overs.
   */
  async settleAfterRebalance(): Promise<void> {
    const c = loadConfig(this.settings);
    await sleep(c.consumer.blockMs + c.leases.renewMs);
  }

  /** `n` accounts, registered over HTTP and activated by the workers. */
  async activeAccounts(n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = await this.http.post('/v1/accounts', { firstName: 'Scale', lastName: `Bench${i}`, email: `scale-${randomUUID()}@example.com` });
      if (r.status !== 201) throw new Error(`POST /v1/accounts: ${r.status} ${r.body}`);
      ids.push((JSON.parse(r.body) as { accountId: string }).accountId);
    }
    const active = await waitUntil(async () => (await this.count(`SELECT count(*)::int AS n FROM accounts WHERE account_id = ANY($1::uuid[]) AND status = 'ACCOUNT_ACTIVE'`, [ids])) === n, 60_000, 100);
    if (!active) throw new Error(`${n} accounts not ACCOUNT_ACTIVE within 60 s`);
    return ids;
  }

  /** One warehouse with `units` available units of each product (posted 1 000 at a time). */
  async stock(products: string[], units: number): Promise<void> {
    const w = await this.http.post('/v1/warehouses', { name: 'Scale', address: ADDRESS });
    if (w.status !== 201) throw new Error(`POST /v1/warehouses: ${w.status} ${w.body}`);
    const warehouseId = (JSON.parse(w.body) as { warehouseId: string }).warehouseId;
    for (const productId of products) {
      for (let left = units; left > 0; left -= 1000) {
        const r = await this.http.post(`/v1/warehouses/${warehouseId}/inventory`, { productId, quantity: Math.min(1000, left) });
        if (r.status !== 201) throw new Error(`stocking ${productId}: ${r.status} ${r.body.slice(0, 300)}`);
      }
    }
    // Each unit becomes available (RESERVATION_PENDING) once a worker has handled its creation.
    const total = products.length * units;
    const ready = await waitUntil(async () => (await this.count(`SELECT count(*)::int AS n FROM inventory WHERE status = 'RESERVATION_PENDING'`)) >= total, 180_000, 200);
    if (!ready) throw new Error(`${total} units not available within 180 s`);
  }

  async orderCounts(): Promise<OrderCounts> {
    const at = performance.now();
    const { rows } = await this.db.query<{ terminal: number; succeeded: number; total: number }>(
      `SELECT count(*) FILTER (WHERE status = ANY($1::text[]))::int AS terminal,
              count(*) FILTER (WHERE status = 'ORDER_SUCCEEDED')::int AS succeeded,
              count(*)::int AS total
         FROM orders`,
      [TERMINAL],
    );
    return { at, ...rows[0] };
  }

  /**
   * Transactions committed and rolled back in the deployment's database so far
   * (pg_stat_database; each backend reports at most once a second, so a difference over a
   * window of several seconds is right to about a second's worth).
   */
  async pgTransactions(): Promise<number> {
    return this.count(`SELECT (xact_commit + xact_rollback)::int AS n FROM pg_stat_database WHERE datname = current_database()`);
  }

  private async count(sql: string, params: unknown[] = []): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(sql, params);
    return rows[0].n;
  }
}
