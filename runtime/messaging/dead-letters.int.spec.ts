import { expect } from 'chai';
import type { StreamConsumer } from './stream-consumer';
import type { Envelope } from './envelope';
import { countDeadLetters, deadLetter, listDeadLetters, parseDeadLetterId, redriveDeadLetter } from './dead-letters';
import { NotFoundError } from '../errors';
import { IntHarness, TOPIC, envelope, pendingCount, until } from '../../test/support/int-fixtures';

const MAX_ATTEMPTS = 4;
/** Backoff 150, 300, 600 ms: the poison message is parked about a second after it first fails. */
const RETRY_BASE_MS = 150;

interface HandledRow {
  message_id: string;
  actor: string;
  version: number;
  /** Length of the dead-letter stream when the message was handled. */
  parked: number;
}

describe('poison messages and dead letters', function () {
  this.timeout(10_000);
  let h: IntHarness;
  let consumer: StreamConsumer | undefined;

  before(async () => {
    h = await IntHarness.open('dead_letters', 1);
    await h.db.raw(`CREATE TABLE handled (seq bigserial PRIMARY KEY, message_id uuid NOT NULL, actor text NOT NULL, version int NOT NULL, parked int NOT NULL)`);
  });
  after(async () => {
    await consumer?.stop();
    await h?.close();
  });

  async function handled(): Promise<HandledRow[]> {
    const { rows } = await h.db.raw<{ rows: HandledRow[] }>('SELECT message_id, actor, version, parked FROM handled ORDER BY seq');
    return rows;
  }

  it('parks a failing message after maxAttempts without blocking others, keeps its actor in order, and re-drives it', async () => {
    // One partition: the poison message shares its stream with every other actor.
    const { topology } = h;
    const group = 'dlq';
    const key = topology.streamKey(TOPIC, 0);
    const poisonAttempts: number[] = [];
    let fixed = false;
    consumer = await h.consumer(topology, {
      group,
      maxAttempts: MAX_ATTEMPTS,
      retryBaseMs: RETRY_BASE_MS,
      handler: async (m, tx, delivery) => {
        if ((m.data as { poison?: boolean }).poison && !fixed) {
          poisonAttempts.push(delivery.attempt);
          throw new Error(`cannot digest ${m.id}`);
        }
        const parked = await countDeadLetters(h.redis, topology);
        await tx.raw('INSERT INTO handled (message_id, actor, version, parked) VALUES (?, ?, ?, ?)', [m.id, m.actor.id, m.version, parked]);
      },
    });
    await consumer.start();

    const poison = envelope('a', 1, { poison: true });
    const aAfter = envelope('a', 2);
    const bFirst = envelope('b', 1);
    // One MULTI, so the three arrive in one read and the poison sits inside a batch.
    const add = (m: Envelope) => ['xadd', key, '*', 'm', JSON.stringify(m)];
    const added = await h.redis.multi([add(poison), add(aAfter), add(bFirst)]).exec();
    const poisonEntry = added![0][1] as string;

    // Messages that arrive while the poison one waits for a later attempt (after its second
    // failure, when the consumer re-reads its pending entries between attempts).
    await until('the second failure', async () => Number(await h.redis.hget(topology.attemptsKey(group, 0), poisonEntry)) >= 2, 2_000, 5);
    // The poison one is not in the read that brings `aLast`: only the consumer's memory of
    // the failing actor holds it back.
    const latecomers = [envelope('b', 2), envelope('c', 1)];
    const aLast = envelope('a', 3);
    for (const m of [...latecomers, aLast]) await h.redis.xadd(key, '*', 'm', JSON.stringify(m));

    await until('the latecomers to be handled', async () => {
      const ids = (await handled()).map((r) => r.message_id);
      return latecomers.every((m) => ids.includes(m.id));
    }, 3_000);
    const others = (await handled()).filter((r) => r.actor !== 'a');
    expect(others.map((r) => r.message_id)).to.have.members([bFirst.id, ...latecomers.map((m) => m.id)]);
    expect(others.map((r) => r.parked), 'other actors handled before the poison message was parked').to.deep.equal([0, 0, 0]);

    const [letter] = await until('the poison message to be parked', async () => {
      const letters = await listDeadLetters(h.redis, topology);
      return letters.length > 0 && letters;
    }, 3_000);
    expect(letter.message?.id).to.equal(poison.id);
    expect(letter.error).to.equal(`cannot digest ${poison.id}`);
    expect(letter.attempts).to.equal(MAX_ATTEMPTS);
    expect(letter.group).to.equal(group);
    expect(letter.streamKey).to.equal(key);
    expect(poisonAttempts, 'handler calls for the poison message').to.deep.equal([1, 2, 3, 4]);

    // The same actor's next messages ran only once the poison one was out of its way, in order.
    const actorA = await until('the next messages of the same actor', async () => {
      const rows = (await handled()).filter((r) => r.actor === 'a');
      return rows.length === 2 && rows;
    });
    expect(actorA.map((r) => [r.message_id, r.parked])).to.deep.equal([
      [aAfter.id, 1],
      [aLast.id, 1],
    ]);
    await until('every entry acknowledged', async () => (await pendingCount(h.redis, key, group)) === 0, 1_000);
    expect(await h.redis.hlen(topology.attemptsKey(group, 0)), 'attempt counters left behind').to.equal(0);

    // Fixed handler, re-driven letter: handled once, and the dead letters are empty again.
    fixed = true;
    const redriven = await redriveDeadLetter(h.redis, topology, letter.id);
    expect(redriven.message?.id).to.equal(poison.id);
    expect(await listDeadLetters(h.redis, topology)).to.deep.equal([]);
    await until('the re-driven message to be handled', async () => (await handled()).some((r) => r.message_id === poison.id), 3_000);
    await until('every entry acknowledged again', async () => (await pendingCount(h.redis, key, group)) === 0, 1_000);
    await new Promise((r) => setTimeout(r, 200)); // room for a wrong second handling to show
    expect((await handled()).filter((r) => r.message_id === poison.id)).to.have.length(1);
    expect(poisonAttempts).to.have.length(MAX_ATTEMPTS);
  });

  it('re-publishes a dead letter exactly once however many re-drives race', async () => {
    const { topology } = h;
    const key = topology.streamKeys(TOPIC)[0];
    const poison = envelope('race', 1);
    await deadLetter(h.redis, topology, 'race-group', key, '1-1', 'boom', 1, poison);
    const [letter] = (await listDeadLetters(h.redis, topology)).filter((l) => l.message?.id === poison.id);
    const before = await h.redis.xlen(key);
    // 50 concurrent re-drives on separate connections, as 50 requests to several web processes would be.
    const connections = Array.from({ length: 5 }, () => h.redis.duplicate());
    try {
      const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => redriveDeadLetter(connections[i % 5], topology, letter.id)));
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won, 'successful re-drives').to.have.length(1);
      expect(lost.every((r) => r.reason instanceof NotFoundError), 'every other re-drive is a 404').to.equal(true);
    } finally {
      for (const c of connections) c.disconnect();
    }
    const entries = (await h.redis.xrange(key, '-', '+')) as [string, string[]][];
    expect(entries.length - before, 'entries added to the stream').to.equal(1);
    expect(entries.filter(([, f]) => f.includes(JSON.stringify(poison)))).to.have.length(1);
    expect((await listDeadLetters(h.redis, topology)).some((l) => l.id === letter.id)).to.equal(false);
  });

  it('lists the dead letters of every partition oldest first, up to the limit, of one group when asked', async () => {
    const t = h.freshTopology('dl_merge', 3);
    const parked: string[] = [];
    // Parked in turn on partitions 2, 0, 1, 2, 0, 1, by two groups.
    for (let i = 0; i < 6; i++) {
      const m = envelope(`merge-${i}`, 1);
      await deadLetter(h.redis, t, i % 2 ? 'odd' : 'even', t.streamKey(TOPIC, (i + 2) % 3), `1-${i}`, 'boom', 1, m);
      parked.push(m.id);
      await new Promise((r) => setTimeout(r, 2)); // another millisecond: parking order is the entry ids' order
    }
    const all = await listDeadLetters(h.redis, t, 100);
    expect(all.map((l) => l.message?.id)).to.deep.equal(parked);
    expect(all.map((l) => l.id.split('-')[0])).to.deep.equal(['p2', 'p0', 'p1', 'p2', 'p0', 'p1']);
    expect((await listDeadLetters(h.redis, t, 4)).map((l) => l.message?.id)).to.deep.equal(parked.slice(0, 4));
    expect((await listDeadLetters(h.redis, t, 100, 'odd')).map((l) => l.message?.id)).to.deep.equal([parked[1], parked[3], parked[5]]);
    expect(await countDeadLetters(h.redis, t)).to.equal(6);
  });

  it('answers 404, not a Redis error, for ids out of the stream id range or past PARTITIONS', async () => {
    expect(parseDeadLetterId(h.topology, 'p0-18446744073709551615-18446744073709551615')).to.deep.equal({ partition: 0, entry: '18446744073709551615-18446744073709551615' });
    const past = `p${h.topology.partitions}-1-0`;
    for (const id of ['p0-99999999999999999999999-0', 'p0-18446744073709551616-0', 'p0-1-18446744073709551616', '1-0', 'p0-1', 'abc', 'p-1-0', 'p0-1-0-0', past]) {
      expect(parseDeadLetterId(h.topology, id), id).to.equal(undefined);
      const err = await redriveDeadLetter(h.redis, h.topology, id).catch((e: unknown) => e);
      expect(err, id).to.be.instanceOf(NotFoundError);
    }
    // In range but absent: a 404 from the lookup.
    expect(await redriveDeadLetter(h.redis, h.topology, 'p0-18446744073709551615-18446744073709551615').catch((e: unknown) => e)).to.be.instanceOf(NotFoundError);
  });
});
