/**
 * A split deployment of real processes for fault tests and the scale benchmark: one web
 * process and N worker processes running every context, a steady flow of orders, and the
 * checks every scenario ends with (every order terminal, the invariants of `npm run check`).
 */
import { expect } from 'chai';
import pg from 'pg';
import { freshDeployment, startServer, type ServerProcess } from './e2e-process';
import { client, type Client } from './e2e-http';
import { ADDRESS, activeAccount, line, stockedWarehouse } from './e2e-shop';
import type { TestEnv } from './runtime';
import { TcpProxy } from './tcp-proxy';
import type { GroupPartitions } from '../../runtime/messaging/partition-report';
import { expectInvariants } from './invariants';

/**
 * Settings of every process of a cluster: all contexts, six partitions (an even 2/2/2 over
 * three workers), short saga deadlines so that orders resume quickly after Redis loses data.
 * Leases keep their production defaults (4 s TTL, 1 s renewal): what the tests measure is
 * what an operator gets.
 */
export const CLUSTER_SETTINGS: Record<string, string> = {
  CONTEXTS: 'all',
  PARTITIONS: '6',
  LOG_LEVEL: 'warn',
  TIMER_POLL_MS: '200',
  TIMER_REARM_MS: '3000',
  ORDER_STEP_TIMEOUT_MS: '3000',
  // 3 s × 8 = 24 s of patience per forward step: more than the up to 15 s a charge job takes
  // to come back from a worker killed while it ran (BullMQ lock 10 s + stalled check 5 s),
  // so the kill -9 scenario's orders still end as their amounts say (docs/saga.md).
  ORDER_STEP_MAX_ATTEMPTS: '8',
  PAYMENT_CHARGE_BACKOFF_MS: '100',
};

/** The statuses an order ends in. */
export const TERMINAL = ['ORDER_SUCCEEDED', 'ORDER_FAILED'] as const;
const isTerminal = (status: string | undefined) => (TERMINAL as readonly string[]).includes(status ?? '');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Cluster {
  readonly workers: ServerProcess[] = [];
  readonly api: Client;

  private constructor(
    readonly env: TestEnv,
    readonly web: ServerProcess,
    private readonly settings: Record<string, string>,
    /** Every process reaches Postgres through it, when started with `postgresProxy`: cut it to take Postgres away. */
    readonly postgres?: TcpProxy,
  ) {
    this.api = client(web.url);
  }

  /**
   * Starts the web process (it migrates), then `workers` worker processes in parallel. With
   * `postgresProxy`, the processes reach Postgres through a {@link TcpProxy} (the test's own
   * checks go direct).
   */
  static async start(label: string, workers: number, extra: Record<string, string> = {}, options: { postgresProxy?: boolean } = {}): Promise<Cluster> {
    const env = await freshDeployment(label);
    const settings = { ...CLUSTER_SETTINGS, ...extra };
    let proxy: TcpProxy | undefined;
    if (options.postgresProxy) {
      const direct = new URL(env.DATABASE_URL);
      proxy = await TcpProxy.start({ host: direct.hostname, port: Number(direct.port || 5432) });
      const viaProxy = new URL(env.DATABASE_URL);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      settings.DATABASE_URL = viaProxy.toString();
    }
    const web = await startServer(env, { ...settings, ROLE: 'web' });
    const cluster = new Cluster(env, web, settings, proxy);
    await Promise.all(Array.from({ length: workers }, () => cluster.addWorker()));
    return cluster;
  }

  /** Stops every process of the cluster still running (SIGTERM, then SIGKILL) and the proxy. */
  async stop(): Promise<void> {
    await Promise.all([this.web, ...this.workers].filter((p) => !p.hasExited()).map((p) => p.stop()));
    await this.postgres?.close();
  }

  async addWorker(): Promise<ServerProcess> {
    const w = await startServer(this.env, { ...this.settings, ROLE: 'worker', MIGRATE_ON_START: 'false' });
    this.workers.push(w);
    return w;
  }

  /** Workers still running. */
  live(): ServerProcess[] {
    return this.workers.filter((w) => !w.hasExited());
  }

  async partitions(): Promise<GroupPartitions[]> {
    const r = await this.api.get('/v1/ops/partitions');
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    return r.body._embedded.groupList as GroupPartitions[];
  }

  /** Partitions owned per worker pid (over every group), read from `/v1/ops/partitions`. */
  async ownedByPid(): Promise<Map<number, number>> {
    const counts = new Map<number, number>();
    for (const g of await this.partitions()) {
      for (const p of g.partitions) {
        const pid = p.owner ? pidOf(p.owner) : undefined;
        if (pid !== undefined) counts.set(pid, (counts.get(pid) ?? 0) + 1);
      }
    }
    return counts;
  }

  /**
   * Waits until every partition of every group is owned by one of `workers`, and returns how
   * long that took (polled every 50 ms).
   */
  async waitUntilServedBy(workers: ServerProcess[], timeoutMs = 20_000): Promise<number> {
    const begin = Date.now();
    const pids = new Set(workers.map((w) => w.pid));
    for (;;) {
      const groups = await this.partitions();
      if (servedBy(groups, pids)) return Date.now() - begin;
      if (Date.now() - begin > timeoutMs) throw new Error(`partitions not served by pids ${[...pids].join(',')} within ${timeoutMs} ms: ${JSON.stringify(groups.map((g) => [g.group, g.partitions.map((p) => p.owner)]))}`);
      await sleep(50);
    }
  }

  /** Active accounts and a warehouse stocked for `unitsPerProduct` per product. */
  async shop(products: string[], unitsPerProduct: number, accounts = 4): Promise<Shop> {
    const ids = await Promise.all(Array.from({ length: accounts }, () => activeAccount(this.api)));
    await stockedWarehouse(this.api, Object.fromEntries(products.map((p) => [p, unitsPerProduct])));
    return { accounts: ids, products };
  }

  /** Statuses of the orders in the read model, by id. */
  async orderStatuses(ids: string[]): Promise<Map<string, string>> {
    const db = new pg.Client({ connectionString: this.env.DATABASE_URL });
    await db.connect();
    try {
      const { rows } = await db.query<{ order_id: string; status: string }>('SELECT order_id, status FROM orders WHERE order_id = ANY($1::uuid[])', [ids]);
      return new Map(rows.map((r) => [r.order_id, r.status]));
    } finally {
      await db.end();
    }
  }

  /** Waits until every order is ORDER_SUCCEEDED or ORDER_FAILED; returns the statuses. */
  async settle(ids: string[], timeoutMs = 60_000): Promise<Map<string, string>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const statuses = await this.orderStatuses(ids);
      const open = ids.filter((id) => !isTerminal(statuses.get(id)));
      if (open.length === 0) return statuses;
      if (Date.now() > deadline) throw new Error(`${open.length} of ${ids.length} orders not terminal within ${timeoutMs} ms, e.g. ${open.slice(0, 3).map((id) => `${id}: ${statuses.get(id)}`).join(', ')}`);
      await sleep(250);
    }
  }

  /**
   * Every invariant of `npm run check` holds, at the latest after `withinMs`: a worker killed
   * mid-charge leaves a refund to finish after its order failed (BullMQ hands its job to
   * another worker once its lock expires; the payment's settle deadline re-queues it if it
   * was lost), and the check waits for that.
   */
  async expectInvariants(withinMs = 45_000): Promise<void> {
    await expectInvariants(this.env.DATABASE_URL, withinMs);
  }
}

export interface Shop {
  accounts: string[];
  products: string[];
}

/** Every partition of every group is owned by one of these worker pids. */
export function servedBy(groups: readonly GroupPartitions[], pids: ReadonlySet<number>): boolean {
  return groups.length > 0 && groups.every((g) => g.partitions.every((p) => p.owner !== null && pids.has(pidOf(p.owner) ?? -1)));
}

/** The group's partitions are owned by `members` owners, each holding ⌊P/N⌋ or ⌈P/N⌉ of them. */
export function evenlySpread(g: GroupPartitions, members: number): boolean {
  const per = new Map<string, number>();
  for (const p of g.partitions) if (p.owner) per.set(p.owner, (per.get(p.owner) ?? 0) + 1);
  const fair = Math.floor(g.partitions.length / members);
  return per.size === Math.min(members, g.partitions.length) && [...per.values()].every((n) => n === fair || n === fair + 1);
}

/** The pid in a lease member id (`host-pid-random`). */
export function pidOf(memberId: string): number | undefined {
  const m = /-(\d+)-[0-9a-f]{8}$/.exec(memberId);
  return m ? Number(m[1]) : undefined;
}

/**
 * Posts orders at a fixed rate until stopped. Every fifth order is for an amount the gateway
 * simulator declines (cents .01), so both the success and the compensation path run.
 */
export class OrderFlow {
  readonly ids: string[] = [];
  /** Ids of the accepted orders the gateway declines. */
  readonly declined = new Set<string>();
  readonly refused: number[] = [];
  /** Every answer other than 201: status, content type and how long it took (0: no answer). */
  readonly refusals: { status: number; contentType: string; ms: number }[] = [];
  private timer?: NodeJS.Timeout;
  private inFlight = new Set<Promise<void>>();
  private n = 0;

  constructor(private readonly api: Client, private readonly shop: Shop) {}

  start(perSecond: number): this {
    this.timer = setInterval(() => this.postOne(), 1000 / perSecond);
    return this;
  }

  private postOne(): void {
    const i = this.n++;
    const declined = i % 5 === 4;
    const body = {
      accountId: this.shop.accounts[i % this.shop.accounts.length],
      lineItems: [line(this.shop.products[i % this.shop.products.length], 1, 10, declined ? 0.01 : 0.5)],
      shippingAddress: ADDRESS,
    };
    const begin = Date.now();
    const p = this.api
      .post('/v1/orders', body)
      .then((r) => {
        if (r.status !== 201) {
          this.refusals.push({ status: r.status, contentType: r.contentType, ms: Date.now() - begin });
          return void this.refused.push(r.status);
        }
        this.ids.push(r.body.orderId as string);
        if (declined) this.declined.add(r.body.orderId as string);
      })
      .catch(() => {
        this.refusals.push({ status: 0, contentType: '', ms: Date.now() - begin });
        this.refused.push(0);
      })
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /** Stops posting; resolves with the ids of the orders accepted (201). */
  async stop(): Promise<string[]> {
    clearInterval(this.timer);
    await Promise.all([...this.inFlight]);
    return this.ids;
  }
}
