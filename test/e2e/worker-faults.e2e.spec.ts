/**
 * Faults of the worker tier, with real processes: one web process, three workers, orders
 * flowing at a steady rate. After every scenario every order is terminal and the invariants
 * of `npm run check` hold (stock conserved, no unit allocated twice, no double charge, every
 * status change in its log). The scenarios run in sequence on one deployment.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import pg from 'pg';
import { killStartedProcesses, spawnCli } from '../support/e2e-process';
import { eventually } from '../support/runtime';
import { caughtUp, streamKeys } from '../support/e2e-streams';
import { connectRedis, type Redis } from '../../runtime/messaging/redis';
import { Topology } from '../../runtime/messaging/topology';
import type { DeadLetter } from '../../runtime/messaging/dead-letters';
import type { Envelope } from '../../runtime/messaging/envelope';
import { CLUSTER_SETTINGS, Cluster, OrderFlow, evenlySpread, pidOf, type Shop } from '../support/e2e-cluster';
import type { GroupPartitions } from '../../runtime/messaging/partition-report';
import { deleteByPrefix } from '../../runtime/messaging/redis';

const RATE = 10; // orders per second
const REQUEST_TIMEOUT_MS = 5_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('worker faults: one web, three workers, orders flowing', function () {
  this.timeout(120_000);
  let cluster: Cluster;
  let shop: Shop;

  before(async () => {
    // Every process reaches Postgres through a proxy the test can cut (scenario 4).
    cluster = await Cluster.start('faults', 3, { HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) }, { postgresProxy: true });
    shop = await cluster.shop(['SKU-F1', 'SKU-F2', 'SKU-F3'], 150);
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

  describe('messages gone wrong (straight onto the streams, as a relay would put them)', () => {
    let redis: Redis;
    let db: pg.Client;
    let topology: Topology;

    before(async () => {
      redis = await connectRedis(cluster.env.REDIS_URL);
      db = new pg.Client({ connectionString: cluster.env.DATABASE_URL });
      await db.connect();
      topology = new Topology(cluster.env.REDIS_PREFIX, Number(CLUSTER_SETTINGS.PARTITIONS));
    });
    after(async () => {
      redis?.disconnect();
      await db?.end();
    });

    const count = async (sql: string) => Number((await db.query<{ n: string }>(sql)).rows[0].n);

    /** Nothing left to relay, and every group has been delivered and has acknowledged every entry. */
    const quiet = async (keys: string[]) => (await count('SELECT count(*) AS n FROM outbox')) === 0 && caughtUp(redis, keys);

    it('6. every message delivered twice (each stream entry added again, as a relay publishing its rows twice would): no new event, no status change, invariants hold', async () => {
      const keys = await streamKeys(redis, cluster.env.REDIS_PREFIX);
      await eventually(() => quiet(keys), 30_000, 200);
      const before = { events: await count('SELECT count(*) AS n FROM events'), inbox: await count('SELECT count(*) AS n FROM inbox') };
      const statuses = (await db.query('SELECT order_id, status FROM orders ORDER BY order_id')).rows;
      let copies = 0;
      for (const key of keys) {
        const entries = (await redis.xrange(key, '-', '+')) as [string, string[]][];
        if (entries.length === 0) continue;
        const multi = redis.multi();
        for (const [, f] of entries) multi.xadd(key, '*', ...f);
        await multi.exec();
        copies += entries.length;
      }
      await eventually(() => quiet(keys), 30_000, 200);
      console.log(`      ${copies} entries delivered again over ${keys.length} streams`);
      expect({ events: await count('SELECT count(*) AS n FROM events'), inbox: await count('SELECT count(*) AS n FROM inbox') }).to.deep.equal(before);
      expect((await db.query('SELECT order_id, status FROM orders ORDER BY order_id')).rows).to.deep.equal(statuses);
      await cluster.expectInvariants(0);
    });

    it('5. a poison message is dead-lettered after its tries without holding up orders; the next message of its actor waits behind it; the dead letter can be listed and re-driven', async () => {
      const paymentId = randomUUID();
      const envelopeOf = (type: string, data: Record<string, unknown>): Envelope => {
        const id = randomUUID();
        return { id, type, stream: 'payments.commands', actor: { type: 'payment', id: paymentId }, version: 0, correlationId: id, causationId: id, occurredAt: new Date().toISOString(), data };
      };
      // Without its ids the payments saga cannot answer anyone: it throws, every time.
      const poison = envelopeOf('CREATE_PAYMENT', {});
      // The same payment's next message is fine (an amount the gateway declines: no charge).
      const next = envelopeOf('CREATE_PAYMENT', { orderId: randomUUID(), paymentId, amount: 5.01 });
      const key = topology.streamKey('payments.commands', topology.partitionOf(paymentId));
      const letters = async () => ((await cluster.api.get('/v1/ops/dead-letters')).body._embedded.deadLetterList as DeadLetter[]).filter((l) => l.message?.id === poison.id);

      await underLoad(async () => {
        await redis.xadd(key, '*', 'm', JSON.stringify(poison));
        await redis.xadd(key, '*', 'm', JSON.stringify(next));
      });
      const [letter] = await eventually(async () => (await letters()).length > 0 && letters(), 30_000, 100);
      expect(letter.group).to.equal('payments.saga');
      expect(letter.attempts).to.equal(5);
      expect(letter.error).to.match(/orderId/);
      // Per-actor order: the next message of the payment ran only once the poison was parked.
      const created = await eventually(async () => (await db.query('SELECT created_at FROM events WHERE stream_id = $1 ORDER BY version LIMIT 1', [`payment-${paymentId}`])).rows[0], 10_000, 100);
      expect(new Date(created.created_at).getTime()).to.be.at.least(new Date(letter.failedAt).getTime());

      const listed = spawnCli({ ...cluster.env, ...CLUSTER_SETTINGS }, ['dlq', 'list']);
      expect((await listed.exited).code, listed.stderr()).to.equal(0);
      expect((JSON.parse(listed.stdout()) as DeadLetter[]).map((l) => l.id)).to.include(letter.id);

      // Re-driven, it goes back on its stream and, still poison, is parked again after its tries.
      const redriven = await cluster.api.post(`/v1/ops/dead-letters/${letter.id}/redrive`);
      expect(redriven.status, JSON.stringify(redriven.body)).to.equal(200);
      await eventually(async () => {
        const now = await letters();
        return now.length === 1 && now[0].id !== letter.id;
      }, 30_000, 100);
    });
  });
});

/** Waits until `workers` live workers own an even share of every group's partitions; returns the partitions owned per pid. */
async function eventuallySpread(cluster: Cluster, workers: number, timeoutMs = 15_000): Promise<Map<number, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const groups = await cluster.partitions();
    if (groups.every((g) => evenlySpread(g, workers))) return cluster.ownedByPid();
    if (Date.now() > deadline) throw new Error(`no even spread over ${workers} workers within ${timeoutMs} ms: ${JSON.stringify([...(await cluster.ownedByPid())])}`);
    await sleep(100);
  }
}
