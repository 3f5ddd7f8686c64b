/**
 * `tributary repartition` against real Redis and Postgres: which entries move (those some
 * group has not finished: pending, or after its last-delivered id, or on a stream where a
 * group that reads the topic has no group yet), where they go (their actor's partition under
 * the new count, in order), what is left (nothing on a stream no partition reads), an
 * interrupted run finished by a second one, the refusal while a worker is live, and the
 * relay and the dead letters' re-drive routing by the actor under their own PARTITIONS.
 */
import { expect } from 'chai';
import { IntHarness, TOPIC, envelope, publish } from '../../test/support/int-fixtures';
import { Topology } from './topology';
import { scanAll } from './redis';
import { MESSAGE_FIELD, TYPE_FIELD, entryField } from './stream-entry';
import type { Envelope } from './envelope';
import { repartition, type RepartitionOptions } from './repartition';
import { unreadStreams } from './partition-report';
import { checkPartitions, recordedPartitions } from '../store/deployment-settings';
import { OutboxRelay } from './outbox-relay';
import { deadLetter, listDeadLetters, redriveDeadLetter } from './dead-letters';
import { StartupError } from '../errors';

const G1 = 'ctx.one';
const G2 = 'ctx.two';

describe('repartition (int)', function () {
  this.timeout(30_000);
  let h: IntHarness;
  let prefix: string;
  const options = (to: number, extra: Partial<RepartitionOptions> = {}): RepartitionOptions => ({
    prefix,
    to,
    configured: 2,
    groups: [
      { group: G1, topics: [TOPIC] },
      { group: G2, topics: [TOPIC] },
    ],
    leaseTtlMs: 4_000,
    ...extra,
  });

  before(async () => {
    h = await IntHarness.open('repartition', 2);
    prefix = h.topology.prefix;
    await recordedPartitions(h.db, 2);
  });
  after(() => h.close());

  /** Every message on the topic's streams under `partitions`, per stream in order. */
  async function streams(partitions: number): Promise<Envelope[][]> {
    const t = new Topology(prefix, partitions);
    const out: Envelope[][] = [];
    for (const key of t.streamKeys(TOPIC)) {
      const rows = (await h.redis.xrange(key, '-', '+')) as [string, string[]][];
      out.push(rows.map(([, f]) => JSON.parse(entryField(f, MESSAGE_FIELD)!) as Envelope));
    }
    return out;
  }

  const keysLike = async (pattern: string) => (await scanAll(h.redis, `${prefix}${pattern}`)).sort();
  const exists = async (key: string) => (await h.redis.exists(key)) === 1;

  /** The moved messages, all expected on their actor's partition under `partitions`, in their order. */
  async function expectPlaced(partitions: number, expected: Envelope[]): Promise<void> {
    const t = new Topology(prefix, partitions);
    const found = await streams(partitions);
    found.forEach((messages, p) => messages.forEach((m) => expect(t.partitionOf(m.actor.id), `${m.actor.id} on p${p}`).to.equal(p)));
    const byId = found.flat().map((m) => m.id);
    expect(byId).to.have.members(expected.map((m) => m.id));
    for (const actor of new Set(expected.map((m) => m.actor.id))) {
      const order = (list: Envelope[]) => list.filter((m) => m.actor.id === actor).map((m) => m.version);
      expect(order(found.flat()), `order of ${actor}`).to.deep.equal(order(expected));
    }
  }

  let moved: Envelope[] = [];

  it('flags a non-empty stream no partition reads, and moves only what some group has not finished (2 -> 4, interrupted after the copy)', async () => {
    // Four entries on each of p0 and p1: G1 read them all and acknowledged three, G2 read and acknowledged two.
    const perPartition = new Map<number, Envelope[]>([[0, []], [1, []]]);
    for (let i = 0; perPartition.get(0)!.length < 4 || perPartition.get(1)!.length < 4; i++) {
      const actor = `actor-${i}`;
      const list = perPartition.get(h.topology.partitionOf(actor))!;
      if (list.length < 4) list.push(envelope(actor, 1), envelope(actor, 2));
    }
    for (const [p, list] of perPartition) {
      list.splice(4);
      const key = h.topology.streamKey(TOPIC, p);
      for (const m of list) await publish(h.redis, h.topology, m);
      for (const g of [G1, G2]) await h.redis.xgroup('CREATE', key, g, '0');
      const g1 = (await h.redis.xreadgroup('GROUP', G1, 'c', 'COUNT', 4, 'STREAMS', key, '>')) as [string, [string, string[]][]][];
      const ids = g1[0][1].map(([id]) => id);
      await h.redis.xack(key, G1, ids[0], ids[1], ids[2]); // the fourth stays pending in G1
      await h.redis.xreadgroup('GROUP', G2, 'c', 'COUNT', 2, 'STREAMS', key, '>');
      await h.redis.xack(key, G2, ids[0], ids[1]); // the third and fourth were never delivered to G2
      moved.push(...list.slice(2));
    }
    // Written under PARTITIONS=6 once: no group at all, so every group that reads the topic has it all to do.
    const stray = [envelope('stray-a', 1), envelope('stray-b', 1)];
    const strayKey = new Topology(prefix, 6).streamKey(TOPIC, 5);
    for (const m of stray) await h.redis.xadd(strayKey, '*', TYPE_FIELD, m.type, MESSAGE_FIELD, JSON.stringify(m));
    await h.redis.xadd(new Topology(prefix, 6).streamKey(TOPIC, 4), '*', 'm', JSON.stringify(envelope('gone', 1)));
    await h.redis.xtrim(new Topology(prefix, 6).streamKey(TOPIC, 4), 'MAXLEN', 0); // empty: not flagged
    moved.push(...stray);
    await h.redis.hset(h.topology.attemptsKey(G1, 1), 'some-entry', '2');

    expect(await unreadStreams(h.redis, h.topology)).to.deep.equal([{ key: strayKey, length: 2 }]);
    // Partition 1 exists under 2 partitions too, but its key under 6 has another tag: unread as well.
    const otherTag = new Topology(prefix, 6).streamKey(TOPIC, 1);
    expect(otherTag).to.not.equal(h.topology.streamKey(TOPIC, 1));
    await h.redis.xadd(otherTag, '*', 'm', JSON.stringify(envelope('other-tag', 1)));
    expect((await unreadStreams(h.redis, h.topology)).map((s) => s.key).sort()).to.deep.equal([otherTag, strayKey].sort());
    await h.redis.del(otherTag);

    const first = await repartition(h.db, h.redis, options(4, { crashAfter: 'copy' }));
    expect(first.topics).to.have.length(1);
    expect(first.topics[0]).to.include({ topic: TOPIC, moved: 6, dropped: 4 });
    expect(first.topics[0].from).to.deep.equal([0, 1, 4, 5]);
    expect(await keysLike('*:moving')).to.not.be.empty;
    // Nothing starts while it is unfinished, with the old count or the new one.
    for (const n of [2, 4]) {
      const refused = await checkPartitions(h.db, n).then(() => undefined, (e: Error) => e);
      expect(refused).to.be.instanceOf(StartupError);
      expect(refused!.message).to.match(/repartition to 4 partitions is unfinished/);
    }
    const refusedOther = await repartition(h.db, h.redis, options(3)).then(() => undefined, (e: Error) => e);
    expect(refusedOther?.message).to.match(/interrupted repartition to 4 is unfinished/);
  });

  it('a second run finishes the interrupted one: every unfinished entry on its actor\'s new partition, once, in order', async () => {
    const second = await repartition(h.db, h.redis, options(4));
    expect(second).to.include({ from: 2, to: 4, resumed: true });
    expect(second.topics[0]).to.include({ moved: 6, dropped: 4 });
    await expectPlaced(4, moved);
    expect(await keysLike('*:moving')).to.deep.equal([]);
    expect(await exists(new Topology(prefix, 6).streamKey(TOPIC, 5))).to.equal(false);
    expect(await exists(new Topology(prefix, 6).streamKey(TOPIC, 4))).to.equal(false);
    const t4 = new Topology(prefix, 4);
    for (const key of t4.streamKeys(TOPIC)) {
      const groups = ((await h.redis.xinfo('GROUPS', key)) as (string | number)[][]).map((g) => ({ name: g[1], last: g[g.indexOf('last-delivered-id') + 1] }));
      expect(groups).to.deep.equal([
        { name: G1, last: '0-0' },
        { name: G2, last: '0-0' },
      ]);
    }
    expect(await h.redis.exists(h.topology.attemptsKey(G1, 1))).to.equal(0);
    expect(await recordedPartitions(h.db, 2)).to.equal(4);
    await checkPartitions(h.db, 4);
    const refused = await checkPartitions(h.db, 2).then(() => undefined, (e: Error) => e);
    expect(refused?.message).to.equal(
      "PARTITIONS=2 differs from this deployment's 4 (recorded in Postgres): set PARTITIONS=4, or stop every worker and run tributary repartition --to 2",
    );
    expect(await unreadStreams(h.redis, t4)).to.deep.equal([]);
  });

  it('refuses while a worker is live (a recent heartbeat in a group\'s lease members)', async () => {
    const members = h.topology.membersKey(G1);
    const [s] = await h.redis.time();
    await h.redis.zadd(members, Number(s) * 1000, 'host-123-abcd');
    try {
      const refused = await repartition(h.db, h.redis, options(2, { configured: 4 })).then(() => undefined, (e: Error) => e);
      expect(refused).to.be.instanceOf(StartupError);
      expect(refused!.message).to.match(/^cannot repartition while 1 worker\(s\) run \(host-123-abcd\)/);
      expect(await recordedPartitions(h.db, 4)).to.equal(4);
      await checkPartitions(h.db, 4); // no repartition left marked as unfinished
    } finally {
      await h.redis.del(members);
    }
  });

  let parked: Envelope;

  it('4 -> 2, interrupted after the old streams were deleted, finishes on a second run', async () => {
    // A dead letter of an actor on p3 under 4 partitions: it moves with its actor.
    const t4 = new Topology(prefix, 4);
    let i = 0;
    while (t4.partitionOf(`parked-${i}`) !== 3) i++;
    parked = envelope(`parked-${i}`, 1);
    await deadLetter(h.redis, t4, G1, t4.streamKey(TOPIC, 3), '1-1', 'boom', 5, parked);
    // Nothing was consumed since: all six are still unfinished for both groups.
    const first = await repartition(h.db, h.redis, options(2, { configured: 4, crashAfter: 'delete' }));
    expect(first.topics[0]).to.include({ moved: 6, dropped: 0 });
    const second = await repartition(h.db, h.redis, options(2, { configured: 4 }));
    expect(second).to.include({ from: 4, to: 2, resumed: true });
    await expectPlaced(2, moved);
    expect(await exists(t4.streamKey(TOPIC, 2))).to.equal(false);
    expect(await exists(t4.streamKey(TOPIC, 3))).to.equal(false);
    expect(await exists(t4.deadLetterKey(3)), 'the old dead letters').to.equal(false);
    expect(await keysLike('*:moving')).to.deep.equal([]);
    expect(await recordedPartitions(h.db, 4)).to.equal(2);
    const t2 = new Topology(prefix, 2);
    const letters = await listDeadLetters(h.redis, t2);
    expect(letters.map((l) => [l.id.split('-')[0], l.message?.id])).to.deep.equal([[`p${t2.partitionOf(parked.actor.id)}`, parked.id]]);
  });

  it('a dead letter parked before the repartition is re-driven to its actor\'s partition under the current PARTITIONS', async () => {
    const t2 = new Topology(prefix, 2);
    // Parked from p3 under PARTITIONS=4: a stream no partition reads any more.
    const oldKey = new Topology(prefix, 4).streamKey(TOPIC, 3);
    const [letter] = (await listDeadLetters(h.redis, t2)).filter((l) => l.message?.id === parked.id);
    expect(letter.streamKey).to.equal(oldKey);
    const redriven = await redriveDeadLetter(h.redis, t2, letter.id);
    const target = t2.streamKey(TOPIC, t2.partitionOf(parked.actor.id));
    expect(redriven.streamKey).to.equal(target);
    expect((await streams(2))[t2.partitionOf(parked.actor.id)].map((m) => m.id)).to.include(parked.id);
    expect(await h.redis.exists(oldKey)).to.equal(0);
    expect(await listDeadLetters(h.redis, t2)).to.deep.equal([]);
  });

  it('the relay routes each row by its actor under its own PARTITIONS, not by the partition stored in the row', async () => {
    const t2 = new Topology(prefix, 2);
    const message = envelope('routed-actor', 1);
    const wrong = 1 - t2.partitionOf('routed-actor');
    // Written by a process that still ran with another PARTITIONS: the stored partition is stale.
    await h.db.raw('INSERT INTO outbox (topic, partition, message) VALUES (?, ?, ?::jsonb)', [TOPIC, wrong + 6, JSON.stringify(message)]);
    const relay = new OutboxRelay(h.db, h.redis, t2, { batchSize: 100, pollMs: 50, streamMaxLen: 0, databaseUrl: h.databaseUrl }, h.log);
    expect(await relay.relayBatch()).to.equal(1);
    const found = await streams(2);
    expect(found[t2.partitionOf('routed-actor')].map((m) => m.id)).to.include(message.id);
    expect(found[wrong].map((m) => m.id)).to.not.include(message.id);
  });
});
