/**
 * Faults of the worker tier, with real processes: one web process, three workers, orders
 * flowing at a steady rate. After every scenario every order is terminal and the invariants
 * of `npm run check` hold (stock conserved, no unit allocated twice, no double charge, every
 * status change in its log). The scenarios run in sequence on one deployment.
 */
import { expect } from 'chai';
import { killStartedProcesses } from '../support/e2e-process';
import { Cluster, OrderFlow, type Shop } from '../support/e2e-cluster';
import { deleteByPrefix } from '../../runtime/messaging/redis';

const RATE = 10; // orders per second
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('worker faults: one web, three workers, orders flowing', function () {
  this.timeout(120_000);
  let cluster: Cluster;
  let shop: Shop;

  before(async () => {
    cluster = await Cluster.start('faults', 3);
    shop = await cluster.shop(['SKU-F1', 'SKU-F2', 'SKU-F3'], 300);
    await cluster.waitUntilServedBy(cluster.workers);
  });
  after(async () => {
    await killStartedProcesses();
  });

  /** Orders flow while `fault` runs; then every one must end terminal with the invariants intact. */
  async function underLoad(fault: () => Promise<void>): Promise<Map<string, string>> {
    const flow = new OrderFlow(cluster.api, shop).start(RATE);
    await sleep(1_500);
    await fault();
    await sleep(1_500);
    const ids = await flow.stop();
    expect(flow.refused, 'orders refused by the web role').to.deep.equal([]);
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
