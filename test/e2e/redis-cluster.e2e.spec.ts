/**
 * A split deployment (one web process, two workers) on a real Redis Cluster of three masters
 * with a replica each, started on free loopback ports for this test: orders flow while a
 * master is killed (SIGKILL) and its replica takes over. Every order accepted must end as
 * its amount says, with the invariants of `npm run check`.
 *
 * The rest of the Redis-touching suites run on a cluster with `npm run test:cluster`.
 */
import { expect } from 'chai';
import { killStartedProcesses } from '../../runtime/testing/process';
import { skipWithoutRedisServer, startRedisCluster, type RedisCluster } from '../../runtime/testing/redis-cluster';
import { createRedis, isCluster, type Redis } from '../../runtime/messaging/redis';
import { slotOf } from '../../runtime/messaging/slot-tags';
import { Topology } from '../../runtime/messaging/topology';
import { Cluster, OrderFlow, type Shop } from '../support/e2e-cluster';
import { streamKeys } from '../support/e2e-streams';

const RATE = 10; // orders per second
const PARTITIONS = 6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Redis Cluster: a split deployment on 3 masters + 3 replicas', function () {
  this.timeout(180_000);
  let redisCluster: RedisCluster;
  let deployment: Cluster;
  let shop: Shop;
  let redis: Redis;

  before(async function () {
    skipWithoutRedisServer(this);
    redisCluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
    deployment = await Cluster.start('redis_cluster', 2, { REDIS_URL: redisCluster.url, PARTITIONS: String(PARTITIONS) });
    shop = await deployment.shop(['SKU-C1', 'SKU-C2'], 200);
    await deployment.waitUntilServedBy(deployment.workers);
    redis = createRedis(redisCluster.url);
  });
  after(async () => {
    redis?.disconnect();
    await deployment?.stop();
    await killStartedProcesses();
    await redisCluster?.stop();
  });

  /** Masters that serve each partition's slot now, by port. */
  async function mastersOfPartitions(): Promise<Map<number, number[]>> {
    const topology = new Topology(deployment.env.REDIS_PREFIX, PARTITIONS);
    const byPort = new Map<number, number[]>();
    for (const node of await redisCluster.nodes()) {
      if (node.role !== 'master' || !node.alive) continue;
      for (let p = 0; p < PARTITIONS; p++) {
        const slot = slotOf(topology.streamKey('orders', p));
        if (node.slots.some(([a, b]) => slot >= a && slot <= b)) byPort.set(node.port, [...(byPort.get(node.port) ?? []), p]);
      }
    }
    return byPort;
  }

  it('spreads the partitions evenly over the masters (two each), the streams the workers created on them', async () => {
    expect(isCluster(redis)).to.equal(true);
    const spread = await mastersOfPartitions();
    expect([...spread.values()].map((ps) => ps.length)).to.deep.equal([2, 2, 2]);
    // Every stream the workers created is a key of this layout (none tagged otherwise, none past PARTITIONS).
    const report = await deployment.api.get('/v1/ops/partitions');
    expect(report.status).to.equal(200);
    expect(report.body.unreadStreams).to.deep.equal([]);
    const created = await streamKeys(redis, deployment.env.REDIS_PREFIX);
    const topology = new Topology(deployment.env.REDIS_PREFIX, PARTITIONS);
    expect(created).to.include.members(topology.streamKeys('orders'));
  });

  it('rides through a master failing over mid-run: every accepted order ends as its amount says, invariants hold', async () => {
    const flow = new OrderFlow(deployment.api, shop).start(RATE);
    await sleep(2_000);
    const [victim] = [...(await mastersOfPartitions()).keys()];
    const failover = await redisCluster.failover(victim);
    await sleep(3_000);
    const ids = await flow.stop();
    console.log(`      master :${victim} killed; replica :${failover.newMasterPort} serving in ${failover.ms} ms; ${ids.length} orders accepted, ${flow.refusals.length} refused`);
    // The web role writes to Postgres only (the outbox), so a Redis failover refuses nothing.
    expect(flow.refused, 'orders refused by the web role').to.deep.equal([]);
    expect(ids.length).to.be.greaterThan(40);
    const statuses = await deployment.settle(ids, 90_000);
    const wrong = ids.filter((id) => statuses.get(id) !== (flow.declined.has(id) ? 'ORDER_FAILED' : 'ORDER_SUCCEEDED'));
    expect(wrong, 'orders that ended otherwise than their amount says').to.deep.equal([]);
    await deployment.expectInvariants();
    // The workers still own every partition, and read them on the promoted replica.
    await deployment.waitUntilServedBy(deployment.live());
    expect((await mastersOfPartitions()).has(failover.newMasterPort)).to.equal(true);
  });

  it('keeps serving after the failover: new orders complete end to end', async () => {
    const flow = new OrderFlow(deployment.api, shop).start(RATE);
    await sleep(2_000);
    const ids = await flow.stop();
    const statuses = await deployment.settle(ids, 30_000);
    expect(ids.filter((id) => statuses.get(id) !== (flow.declined.has(id) ? 'ORDER_FAILED' : 'ORDER_SUCCEEDED'))).to.deep.equal([]);
  });
});
