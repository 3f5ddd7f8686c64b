import { expect } from 'chai';
import { PartitionLeases, type PartitionOwnership } from './partition-leases';
import type { StreamConsumer } from './stream-consumer';
import type { Topology } from './topology';
import { IntHarness, envelope, pendingCount, publish, until } from '../../test/support/int-fixtures';

describe('partition leases (Redis leases, Postgres fencing tokens)', function () {
  this.timeout(15_000);
  let h: IntHarness;
  const open: PartitionLeases[] = [];
  const consumers: StreamConsumer[] = [];

  before(async () => {
    h = await IntHarness.open('leases');
    await h.db.raw('CREATE TABLE handled (message_id uuid NOT NULL, consumer text NOT NULL)');
  });
  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.stop()));
    await Promise.all(open.splice(0).map((l) => l.stop()));
  });
  after(async () => {
    await h?.close();
  });

  interface Member {
    leases: PartitionLeases;
    view: PartitionOwnership;
    won: number[][];
  }

  async function member(topology: Topology, group = 'g', ttlMs = 2_000): Promise<Member> {
    const leases = new PartitionLeases(h.db, await h.redisConnection(), topology, { ttlMs, renewMs: 100 }, h.log);
    open.push(leases);
    const won: number[][] = [];
    const view = leases.join(group, { won: async (ps) => void won.push(ps) });
    return { leases, view, won };
  }

  async function rounds(members: Member[], n = 3): Promise<void> {
    for (let i = 0; i < n; i++) for (const m of members) await m.leases.maintain();
  }

  async function tokens(group: string): Promise<Record<number, number>> {
    const { rows } = await h.db.raw<{ rows: { partition: number; token: string }[] }>('SELECT partition, token FROM partition_owners WHERE consumer = ?', [group]);
    return Object.fromEntries(rows.map((r) => [r.partition, Number(r.token)]));
  }

  it('gives a lone member every partition in its first round, fenced with a token per partition', async () => {
    const t = h.freshTopology('leases-lone', 4);
    const a = await member(t, 'lone');
    await a.leases.maintain();
    expect(a.view.owned()).to.deep.equal([0, 1, 2, 3]);
    expect(a.won).to.deep.equal([[0, 1, 2, 3]]);
    const fenced = await tokens('lone');
    expect(fenced).to.deep.equal({ 0: 1, 1: 1, 2: 1, 3: 1 });
    for (let p = 0; p < 4; p++) expect(a.view.tokenOf(p)).to.equal(1);
    // Renewing is not winning again: no new token, no new take-over.
    await a.leases.maintain();
    expect(await tokens('lone')).to.deep.equal(fenced);
    expect(a.won).to.have.length(1);
  });

  it('spreads partitions evenly and disjointly over the live members (3 members, 8 partitions: 3/3/2)', async () => {
    const t = h.freshTopology('leases-spread', 8);
    const ms = [await member(t, 'spread'), await member(t, 'spread'), await member(t, 'spread')];
    await rounds(ms);
    const owned = ms.map((m) => [...m.view.owned()]);
    expect(owned.map((o) => o.length).sort()).to.deep.equal([2, 3, 3]);
    expect(owned.flat().sort()).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('hands partitions back on stop; the others own them after one round, with raised tokens', async () => {
    const t = h.freshTopology('leases-leave', 4);
    const [a, b] = [await member(t, 'leave'), await member(t, 'leave')];
    await rounds([a, b]);
    const bHad = [...b.view.owned()];
    expect(bHad).to.have.length(2);
    const before = await tokens('leave');
    await b.leases.stop();
    expect(b.view.owned()).to.deep.equal([]);
    await a.leases.maintain();
    expect(a.view.owned()).to.deep.equal([0, 1, 2, 3]);
    const after = await tokens('leave');
    for (const p of bHad) expect(after[p]).to.equal(before[p] + 1);
  });

  it('takes over the partitions of a member that died once its leases expire', async () => {
    const t = h.freshTopology('leases-dead', 4);
    const [a, b] = [await member(t, 'dead', 600), await member(t, 'dead', 600)];
    await rounds([a, b]);
    expect(a.view.owned()).to.have.length(2);
    // b stops renewing without handing anything back (kill -9).
    open.splice(open.indexOf(b.leases), 1);
    await a.leases.maintain();
    expect(a.view.owned(), 'before the TTL').to.have.length(2);
    await new Promise((r) => setTimeout(r, 700));
    await a.leases.maintain();
    expect(a.view.owned()).to.deep.equal([0, 1, 2, 3]);
    // And b, were it only paused, no longer trusts its leases.
    expect(b.view.owned()).to.deep.equal([]);
  });

  it('fences a stale owner: its batch commits nothing, the entry stays pending, the new owner handles it once', async () => {
    const t = h.freshTopology('leases-fence', 1);
    const a = await member(t, 'fence');
    const b = await member(t, 'fence');
    const consumerOf = async (m: Member, name: string) => {
      const c = await h.consumer(t, {
        group: 'fence',
        consumerName: name,
        ownership: m.view,
        claimIdleMs: 300,
        handler: async (msg, tx) => void (await tx.raw('INSERT INTO handled (message_id, consumer) VALUES (?, ?)', [msg.id, name])),
      });
      await c.ensureGroups();
      consumers.push(c);
      return c;
    };
    const ca = await consumerOf(a, 'a');
    const cb = await consumerOf(b, 'b');
    await a.leases.maintain();
    expect(a.view.owned()).to.deep.equal([0]);
    // Redis forgets a's lease and heartbeat (data loss), and b takes the partition and fences it,
    // while a still trusts its lease: the split brain a fencing token exists for.
    await h.redis.del(t.leaseKey('fence', 0), t.membersKey('fence'));
    await b.leases.maintain();
    expect(b.view.owned()).to.deep.equal([0]);
    expect(a.view.owned()).to.deep.equal([0]);

    const m = envelope('thing-1', 1);
    await publish(h.redis, t, m);
    await ca.tick();
    const rows = async () => (await h.db.raw<{ rows: { consumer: string }[] }>('SELECT consumer FROM handled WHERE message_id = ?', [m.id])).rows;
    expect(await rows(), 'the stale owner committed').to.deep.equal([]);
    expect(a.view.owned(), 'the stale owner still reads the partition').to.deep.equal([]);
    expect(await pendingCount(h.redis, t.streamKey('things', 0), 'fence')).to.equal(1);
    const attempts = await h.redis.hget(t.attemptsKey('fence', 0), '0');
    expect(attempts, 'a fenced batch is not a failed attempt').to.equal(null);

    await until('the new owner to handle the entry', async () => {
      await cb.tick();
      return (await rows()).length > 0;
    });
    expect(await rows()).to.deep.equal([{ consumer: 'b' }]);
  });
});

describe('partition leases: hand-over between live workers', function () {
  this.timeout(20_000);
  let h: IntHarness;
  const stops: (() => Promise<void>)[] = [];

  before(async () => {
    h = await IntHarness.open('leases_handover');
    await h.db.raw('CREATE TABLE handled (message_id uuid PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())');
  });
  after(async () => {
    for (const stop of stops.reverse()) await stop();
    await h?.close();
  });

  /** A worker as roles.ts wires it: leases announced over pub/sub, a consumer reading what they give it. */
  async function worker(t: Topology): Promise<PartitionOwnership> {
    const leases = new PartitionLeases(h.db, await h.redisConnection(), t, { ttlMs: 4_000, renewMs: 1_000 }, h.log, await h.redisConnection());
    let consumer: StreamConsumer | undefined;
    const ownership = leases.join('handover', { won: (ps) => consumer!.adopt(ps), gaveBack: () => consumer!.interruptRead() });
    consumer = await h.consumer(t, {
      group: 'handover',
      ownership,
      blockMs: 2_000,
      claimIdleMs: 30_000,
      handler: async (m, tx) => void (await tx.raw('INSERT INTO handled (message_id) VALUES (?)', [m.id])),
    });
    await consumer.ensureGroups();
    await leases.start();
    await consumer.start();
    stops.push(async () => {
      await consumer!.stop();
      await leases.stop();
    });
    return ownership;
  }

  it('loses no message read in the moment a partition moves: all are handled within seconds, not after the claim idle time', async () => {
    const t = h.freshTopology('leases-handover', 8);
    const a = await worker(t);
    // a idles in a blocking read of all 8 partitions when b joins and takes 4 of them.
    await new Promise((r) => setTimeout(r, 300));
    const b = await worker(t);
    await until('the even spread', async () => a.owned().length === 4 && b.owned().length === 4, 5_000, 5);
    // Messages for every partition, right after the hand-over: a read that a still had in
    // flight over its old partitions would take some of b's.
    const sent = Array.from({ length: 40 }, (_, i) => envelope(`actor-${i}`, 1));
    for (const m of sent) await publish(h.redis, t, m);
    await until('every message handled', async () => {
      const { rows } = await h.db.raw<{ rows: { n: number }[] }>('SELECT count(*)::int AS n FROM handled');
      return rows[0].n === sent.length;
    }, 6_000, 100);
  });
});
