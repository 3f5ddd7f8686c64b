/**
 * Faults of the worker tier, with real processes: one web process, three workers, orders
 * flowing at a steady rate. After every scenario every order is terminal and the invariants
 * of `npm run check` hold (stock conserved, no unit allocated twice, no double charge, every
 * status change in its log). The scenarios run in sequence on one deployment.
 */
import { expect } from 'chai';
import { killStartedProcesses, spawnCli } from '../support/e2e-process';
import { CLUSTER_SETTINGS, Cluster, OrderFlow, pidOf, type Shop } from '../support/e2e-cluster';
import type { GroupPartitions } from '../../runtime/messaging/partition-report';
import { deleteByPrefix } from '../../runtime/messaging/redis';

const RATE = 10; // orders per second
const REQUEST_TIMEOUT_MS = 2_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('worker faults: one web, three workers, orders flowing', function () {
  this.timeout(120_000);
  let cluster: Cluster;
  let shop: Shop;

  before(async () => {
    // Every process reaches Postgres through a proxy the test can cut (scenario 4).
    cluster = await Cluster.start('faults', 3, { HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) }, { postgresProxy: true });
    shop = await cluster.shop(['SKU-F1', 'SKU-F2', 'SKU-F3'], 300);
    await cluster.waitUntilServedBy(cluster.workers);
  });
  after(async () => {
    await cluster?.stop();
    await killStartedProcesses();
  });

  /**
   * Orders flow while `fault` runs; then every one accepted must end terminal with the
   * invariants intact. Only `expectRefusals` may refuse orders (with what it checks).
   */
  async function underLoad(fault: () => Promise<void>, expectRefusals?: (flow: OrderFlow) => void): Promise<Map<string, string>> {
    const flow = new OrderFlow(cluster.api, shop).start(RATE);
    await sleep(1_500);
    await fault();
    await sleep(1_500);
    const ids = await flow.stop();
    if (expectRefusals) expectRefusals(flow);
    else expect(flow.refused, 'orders refused by the web role').to.deep.equal([]);
    expect(ids.length).to.be.greaterThan(20);
    const statuses = await cluster.settle(ids);
    // Every fifth order is declined by the gateway; the rest have stock and succeed.
    const wrong = ids.filter((id) => statuses.get(id) !== (flow.declined.has(id) ? 'ORDER_FAILED' : 'ORDER_SUCCEEDED'));
    expect(wrong, 'orders that ended otherwise than their amount says').to.deep.equal([]);
    await cluster.expectInvariants();
    return statuses;
  }

  it('1. kill -9 of a worker: the others take over its partitions; a worker that joins later gets its share', async () => {
    const [victim, ...survivors] = cluster.live();
    let recoveryMs = 0;
    await underLoad(async () => {
      const killedAt = Date.now();
      process.kill(victim.pid, 'SIGKILL');
      await victim.exited;
      await cluster.waitUntilServedBy(survivors);
      recoveryMs = Date.now() - killedAt;
    });
    console.log(`      partitions served again ${recoveryMs} ms after kill -9 (lease TTL 4000 ms)`);
    expect(recoveryMs).to.be.lessThan(8_000);

    const newcomer = await cluster.addWorker();
    const spread = await eventuallySpread(cluster, 3);
    expect(spread.get(newcomer.pid), 'the newcomer owns its share').to.equal(spread.get(survivors[0].pid));
  });

  it('tributary partitions (the CLI) shows the owners GET /v1/ops/partitions shows, with lag and pending', async () => {
    const cli = spawnCli({ ...cluster.env, ...CLUSTER_SETTINGS }, ['partitions', '--json']);
    const exit = await cli.exited;
    expect(exit.code, cli.stderr()).to.equal(0);
    const fromCli = JSON.parse(cli.stdout()) as GroupPartitions[];
    const fromHttp = await cluster.partitions();
    const owners = (groups: GroupPartitions[]) => groups.map((g) => [g.group, g.partitions.map((p) => pidOf(p.owner ?? ''))]);
    expect(owners(fromCli)).to.deep.equal(owners(fromHttp));
    expect(fromCli.map((g) => g.group)).to.include.members(['accounts.activation', 'orders.saga', 'payments.saga', 'warehouse.saga']);
    const live = new Set(cluster.live().map((w) => w.pid));
    for (const g of fromCli) {
      expect(g.partitions).to.have.length(6);
      for (const p of g.partitions) {
        expect(live.has(pidOf(p.owner ?? '')!), `${g.group} p${p.partition} owned by a live worker`).to.equal(true);
        expect(p.token).to.be.a('number').and.at.least(1);
        expect(p.pending).to.be.a('number');
        expect(p.lag).to.be.a('number');
      }
    }
  });

  it('2. SIGTERM of a worker: it finishes in flight, hands its partitions back, and they move within 2 s', async () => {
    const [victim, ...survivors] = cluster.live();
    let moveMs = 0;
    await underLoad(async () => {
      const termAt = Date.now();
      const stopping = victim.stop();
      await cluster.waitUntilServedBy(survivors);
      moveMs = Date.now() - termAt;
      const exit = await stopping;
      expect(exit.code, victim.stderr()).to.equal(0);
    });
    console.log(`      partitions moved ${moveMs} ms after SIGTERM`);
    expect(moveMs).to.be.lessThan(2_000);
  });

  it('3. Redis loses every key of the deployment mid-run: groups come back, sagas resume from Postgres, every order ends terminal', async () => {
    const before = await cluster.ownedByPid();
    await underLoad(async () => {
      // FLUSHALL would also wipe other users of this shared Redis; deleting every key of the
      // deployment's prefix (streams, groups, leases, BullMQ queues) is the same loss to it.
      await deleteByPrefix(cluster.env.REDIS_URL, cluster.env.REDIS_PREFIX);
    });
    const after = await eventuallySpread(cluster, cluster.live().length);
    expect([...after.keys()].sort()).to.deep.equal([...before.keys()].sort());
  });

  it('4. Postgres goes away for 3 s mid-run: the web role answers 503 problem+json, never 500 or a hang; workers back off and resume; nothing acknowledged is lost', async () => {
    const proxy = cluster.postgres!;
    let cutFor = 0;
    await underLoad(
      async () => {
        const begin = Date.now();
        proxy.cut('reset');
        await sleep(3_000);
        proxy.restore();
        cutFor = Date.now() - begin;
      },
      (flow) => {
        console.log(`      Postgres away ${cutFor} ms: ${flow.ids.length} orders accepted, ${flow.refusals.length} refused (${[...new Set(flow.refused)].join(', ')})`);
        expect(flow.refusals.length, 'orders posted while Postgres was away are refused').to.be.greaterThan(5);
        for (const r of flow.refusals) {
          expect(r.status, JSON.stringify(r)).to.equal(503);
          expect(r.contentType).to.match(/^application\/problem\+json/);
          expect(r.ms, 'answered within the request timeout').to.be.lessThan(REQUEST_TIMEOUT_MS + 1_000);
        }
      },
    );
    for (const w of cluster.live()) expect(w.hasExited(), `worker ${w.pid} survived`).to.equal(false);
    expect(cluster.web.hasExited()).to.equal(false);
  });
});

/** Waits until `workers` live workers own an even share of every group's partitions. */
async function eventuallySpread(cluster: Cluster, workers: number, timeoutMs = 15_000): Promise<Map<number, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const owned = await cluster.ownedByPid();
    const counts = [...owned.values()];
    if (owned.size === workers && Math.max(...counts) - Math.min(...counts) <= 5) {
      const groups = await cluster.partitions();
      const even = groups.every((g) => {
        const per = new Map<string, number>();
        for (const p of g.partitions) if (p.owner) per.set(p.owner, (per.get(p.owner) ?? 0) + 1);
        const n = [...per.values()];
        return per.size === workers && Math.max(...n) - Math.min(...n) <= 1;
      });
      if (even) return owned;
    }
    if (Date.now() > deadline) throw new Error(`no even spread over ${workers} workers within ${timeoutMs} ms: ${JSON.stringify([...owned])}`);
    await sleep(100);
  }
}
