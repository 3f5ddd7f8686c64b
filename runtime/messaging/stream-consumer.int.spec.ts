import { expect } from 'chai';
import type { StreamConsumer, MessageHandler } from './stream-consumer';
import type { Envelope } from './envelope';
import type { Tx } from '../store/database';
import { MESSAGE_FIELD, TYPE_FIELD } from './stream-entry';
import { listDeadLetters } from './dead-letters';
import { keyedBatch, unlinkByPrefix } from './redis';
import { IntHarness, TOPIC, envelope, pendingCount, publish, until } from '../../test/support/int-fixtures';

/** A handler's effect, written in its transaction: one row per handling, in handling order. */
async function recordHandled(tx: Tx, group: string, m: Envelope): Promise<void> {
  await tx.raw('INSERT INTO handled (grp, message_id, actor, version) VALUES (?, ?, ?, ?)', [group, m.id, m.actor.id, m.version]);
}

describe('stream consumer (Redis Streams -> Postgres)', function () {
  this.timeout(10_000);
  let h: IntHarness;
  const running: StreamConsumer[] = [];

  before(async () => {
    h = await IntHarness.open('consumer');
    await h.db.raw(`
      CREATE TABLE handled (seq bigserial PRIMARY KEY, grp text NOT NULL, message_id uuid NOT NULL, actor text NOT NULL, version int NOT NULL);
      CREATE TABLE counters (id text PRIMARY KEY, n int NOT NULL);`);
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((c) => c.stop()));
  });
  after(async () => {
    await h?.close();
  });

  async function handledRows(group: string): Promise<{ message_id: string; actor: string; version: number }[]> {
    const { rows } = await h.db.raw<{ rows: { message_id: string; actor: string; version: number }[] }>(
      'SELECT message_id, actor, version FROM handled WHERE grp = ? ORDER BY seq',
      [group],
    );
    return rows;
  }

  /** Ticks until `done` holds; a deterministic stand-in for the consumer's own loop. */
  async function tickUntil(consumer: StreamConsumer, what: string, done: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error(`timed out ticking until ${what}`);
      await consumer.tick();
    }
  }

  describe('at-least-once delivery, exactly-once effect', () => {
    const counting = (calls: { n: number }): MessageHandler => async (m, tx) => {
      calls.n++;
      await tx.raw('INSERT INTO counters (id, n) VALUES (?, 1) ON CONFLICT (id) DO UPDATE SET n = counters.n + 1', [m.id]);
    };
    const counter = async (id: string) => {
      const { rows } = await h.db.raw<{ rows: { n: number }[] }>('SELECT n FROM counters WHERE id = ?', [id]);
      return rows[0]?.n;
    };

    it('applies a message published twice in one batch once, and acks both entries', async () => {
      const topology = h.freshTopology('dup_batch', 1);
      const calls = { n: 0 };
      const consumer = await h.consumer(topology, { group: 'dup-batch', handler: counting(calls) });
      await consumer.ensureGroups();
      const m = envelope('dup', 0);
      await publish(h.redis, topology, m);
      await publish(h.redis, topology, m);
      const key = topology.streamKey(TOPIC, 0);
      await tickUntil(consumer, 'both entries are acked', async () => consumer.handled === 2);

      expect(await counter(m.id)).to.equal(1);
      expect(calls.n, 'handler calls').to.equal(1);
      expect(await pendingCount(h.redis, key, 'dup-batch')).to.equal(0);
    });

    it('applies a redelivery in a later batch once, and acks it', async () => {
      const topology = h.freshTopology('dup_later', 1);
      const calls = { n: 0 };
      const consumer = await h.consumer(topology, { group: 'dup-later', handler: counting(calls) });
      await consumer.ensureGroups();
      const m = envelope('dup', 0);
      await publish(h.redis, topology, m);
      await tickUntil(consumer, 'the first delivery is acked', async () => consumer.handled === 1);
      await publish(h.redis, topology, m);
      await tickUntil(consumer, 'the redelivery is acked', async () => consumer.handled === 2);

      expect(await counter(m.id)).to.equal(1);
      // The batch runs optimistically first (its inbox rows written with its other writes): the
      // inbox refuses the redelivery, that run rolls back, and the batch is redone inbox first,
      // which skips it. So the handler ran twice and only the first delivery's run committed.
      expect(calls.n, 'handler calls').to.equal(2);
      expect(await pendingCount(h.redis, topology.streamKey(TOPIC, 0), 'dup-later')).to.equal(0);
    });
  });

  it('passes over the types it does not handle by their type field, without parsing them, and acks them', async () => {
    const topology = h.freshTopology('skip_types', 1);
    const handled: string[] = [];
    const consumer = await h.consumer(topology, {
      group: 'skip-types',
      accepts: (type) => type === 'Wanted',
      handler: async (m) => {
        handled.push(m.type);
      },
    });
    await consumer.ensureGroups();
    const key = topology.streamKey(TOPIC, 0);
    const wanted = { ...envelope('skip', 0), type: 'Wanted' };
    // Not JSON at all: parsed, it would be dead-lettered as malformed.
    await h.redis.xadd(key, '*', TYPE_FIELD, 'Unwanted', MESSAGE_FIELD, '{not json');
    await publish(h.redis, topology, wanted);
    await tickUntil(consumer, 'both entries are acked', async () => consumer.handled === 2);

    expect(handled).to.deep.equal(['Wanted']);
    expect(await pendingCount(h.redis, key, 'skip-types')).to.equal(0);
    expect(await listDeadLetters(h.redis, topology)).to.deep.equal([]);
  });

  it('handles 200 messages of several actors, each actor in order', async () => {
    const topology = h.freshTopology('batch', 3);
    const group = 'batch';
    const consumer = await h.consumer(topology, { group, batchSize: 30, handler: (m, tx) => recordHandled(tx, group, m) });
    running.push(consumer);
    await consumer.start();
    const actors = Array.from({ length: 8 }, (_, i) => `batch-${i}`);
    const published: Envelope[] = [];
    for (let v = 1; v <= 25; v++) for (const a of actors) published.push(envelope(a, v));
    // Published in bursts while the consumer runs, so batches cut through actors' histories.
    for (let i = 0; i < published.length; i += 40) {
      const pipeline = keyedBatch(h.redis);
      for (const m of published.slice(i, i + 40)) pipeline.xadd(topology.streamKey(TOPIC, topology.partitionOf(m.actor.id)), '*', 'm', JSON.stringify(m));
      await pipeline.exec();
    }
    await until('all 200 handled', async () => (await handledRows(group)).length >= 200);

    const rows = await handledRows(group);
    expect(rows).to.have.length(200);
    expect(new Set(rows.map((r) => r.message_id)).size).to.equal(200);
    for (const a of actors) {
      expect(rows.filter((r) => r.actor === a).map((r) => r.version), a).to.deep.equal(Array.from({ length: 25 }, (_, i) => i + 1));
    }
    for (const key of topology.streamKeys(TOPIC)) expect(await pendingCount(h.redis, key, group), key).to.equal(0);
  });

  it("claims and handles a dead consumer's pending entry", async () => {
    const topology = h.freshTopology('claim', 1);
    const group = 'claim';
    const key = topology.streamKey(TOPIC, 0);
    await h.redis.xgroup('CREATE', key, group, '0', 'MKSTREAM');
    const m = envelope('orphan', 1);
    await publish(h.redis, topology, m);
    // A consumer reads it and dies before acknowledging.
    const read = (await h.redis.xreadgroup('GROUP', group, 'dead', 'COUNT', 10, 'STREAMS', key, '>')) as [string, [string, string[]][]][];
    expect(read[0][1]).to.have.length(1);
    expect(await pendingCount(h.redis, key, group)).to.equal(1);

    const consumer = await h.consumer(topology, { group, claimIdleMs: 200, handler: (msg, tx) => recordHandled(tx, group, msg) });
    running.push(consumer);
    await consumer.start();
    await until('the orphan to be handled', async () => (await handledRows(group)).length > 0, 3_000);
    await until('the pending list to empty', async () => (await pendingCount(h.redis, key, group)) === 0, 1_000);
    expect((await handledRows(group)).map((r) => r.message_id)).to.deep.equal([m.id]);
  });

  it('recreates its group after the stream keys are lost, and handles new messages', async () => {
    const topology = h.freshTopology('lost', 2);
    const group = 'lost';
    const consumer = await h.consumer(topology, { group, handler: (msg, tx) => recordHandled(tx, group, msg) });
    running.push(consumer);
    await consumer.start();
    const before = envelope('lost-a', 1);
    await publish(h.redis, topology, before);
    await until('the first message to be handled', async () => (await handledRows(group)).length === 1);

    // Redis loses its data under the running consumer (only this prefix: the server is shared).
    expect(await unlinkByPrefix(h.redis, topology.prefix)).to.be.greaterThan(0);
    const afterLoss = [envelope('lost-a', 2), envelope('lost-b', 1)];
    for (const m of afterLoss) await publish(h.redis, topology, m);

    await until('the messages published after the loss to be handled', async () => (await handledRows(group)).length === 3, 5_000);
    // Two actors, two partitions: no order between them, only that each is handled once.
    expect((await handledRows(group)).map((r) => r.message_id)).to.have.members([before.id, ...afterLoss.map((m) => m.id)]);
    for (const key of topology.streamKeys(TOPIC)) {
      const groups = (await h.redis.xinfo('GROUPS', key)) as unknown[][];
      expect(groups.map((g) => g[1]), key).to.deep.equal([group]);
    }
  });
});
