import { expect } from 'chai';
import { OutboxSignal } from './outbox-signal';
import { MESSAGE_FIELD, TYPE_FIELD, entryField } from './stream-entry';
import { OUTBOX_CHANNEL } from '../store/event-store';
import { OutboxRelay, RELAY_BATCH, RELAY_LOCK_KEY, type RelayOptions } from './outbox-relay';
import pg from 'pg';
import type { Topology } from './topology';
import type { Redis } from './redis';
import type { Db } from '../store/database';
import { IntHarness, TOPIC, appendOne, countRows, readAllPartitions, until } from '../../test/support/int-fixtures';

const ACTORS = 20;
const VERSIONS = 25;

describe('outbox relay (Postgres -> Redis)', function () {
  this.timeout(15_000);
  let h: IntHarness;
  let writers: Db;
  const relays: OutboxRelay[] = [];

  before(async () => {
    h = await IntHarness.open('relay');
    // Writers get a pool of their own, so the relay never waits for a connection.
    writers = h.pool(ACTORS + 5);
  });
  afterEach(async () => {
    await Promise.all(relays.splice(0).map((r) => r.stop(Date.now() + 2_000)));
  });
  after(async () => {
    await h?.close();
  });

  async function startRelay(topology: Topology, options: Partial<RelayOptions> = {}, db: Db = h.db, redis: Redis = h.redis): Promise<OutboxRelay> {
    const relay = new OutboxRelay(db, redis, topology, { batchSize: 50, pollMs: 20, streamMaxLen: 0, databaseUrl: h.databaseUrl, ...options }, h.log);
    relays.push(relay);
    await relay.start();
    return relay;
  }

  /**
   * Each actor's writer appends versions 1..VERSIONS one transaction at a time (as a real
   * actor must: version n+1 is written after n committed), all actors at once. Every
   * fourth transaction stays open a while after its insert, so rows with lower outbox ids
   * commit after rows with higher ones: the case a cursor-based relay gets wrong.
   */
  async function writeConcurrently(topology: Topology, run: string): Promise<Set<string>> {
    const ids = new Set<string>();
    await Promise.all(
      Array.from({ length: ACTORS }, async (_, a) => {
        const actor = `${run}-actor-${a}`;
        for (let v = 0; v < VERSIONS; v++) {
          if ((a + v) % 4 !== 0) {
            ids.add((await appendOne(writers, topology, actor, v)).id); // one statement, its own transaction
            continue;
          }
          await writers.transaction(async (tx) => {
            ids.add((await appendOne(tx, topology, actor, v)).id);
            await tx.raw('SELECT pg_sleep(?)', [(10 + ((a * 7 + v * 13) % 30)) / 1000]);
          });
        }
      }),
    );
    return ids;
  }

  /** Reads every partition stream back and checks exactly-once and per-actor order. */
  async function expectPublishedOnceInOrder(topology: Topology, run: string, appended: Set<string>): Promise<void> {
    const partitions = await readAllPartitions(h.redis, topology);
    const seen = new Map<string, number>();
    const versionsByActor = new Map<string, number[]>();
    partitions.forEach((messages, p) => {
      for (const m of messages) {
        seen.set(m.id, (seen.get(m.id) ?? 0) + 1);
        expect(topology.partitionOf(m.actor.id), `partition of ${m.actor.id}`).to.equal(p);
        versionsByActor.set(m.actor.id, [...(versionsByActor.get(m.actor.id) ?? []), m.version]);
      }
    });
    const duplicates = [...seen].filter(([, n]) => n !== 1);
    expect(duplicates, 'messages published more than once').to.deep.equal([]);
    expect(seen.size).to.equal(appended.size);
    expect([...appended].filter((id) => !seen.has(id)), 'messages never published').to.deep.equal([]);
    const expected = Array.from({ length: VERSIONS }, (_, i) => i + 1);
    for (let a = 0; a < ACTORS; a++) expect(versionsByActor.get(`${run}-actor-${a}`), `versions of ${run}-actor-${a}`).to.deep.equal(expected);
    expect(await countRows(h.db, 'outbox')).to.equal(0);
  }

  it('publishes every row once, per actor in version order, while writers commit out of id order', async () => {
    const topology = h.freshTopology('relay_one');
    const relay = await startRelay(topology);
    const appended = await writeConcurrently(topology, 'one');
    await until('the relay to drain the outbox', async () => relay.published >= appended.size && (await countRows(h.db, 'outbox')) === 0, 8_000);
    await expectPublishedOnceInOrder(topology, 'one', appended);
  });

  it('never skips a row whose transaction commits after later rows were published', async () => {
    const topology = h.freshTopology('relay_late');
    const relay = await startRelay(topology);
    let releaseLate!: () => void;
    const held = new Promise<void>((r) => (releaseLate = r));
    let lateId: string | undefined;
    const late = writers.transaction(async (tx) => {
      lateId = (await appendOne(tx, topology, 'late', 0)).id; // takes the lower outbox id
      await held;
    });
    await until('the late row to be inserted', async () => lateId);
    const early = [];
    for (let v = 0; v < 5; v++) early.push((await appendOne(writers, topology, 'early', v)).id);
    await until('the later rows to be published', async () => relay.published === 5);
    releaseLate();
    await late;
    await until('the late row to be published', async () => relay.published === 6, 3_000);
    const all = (await readAllPartitions(h.redis, topology)).flat();
    expect(all.map((m) => m.id).sort()).to.deep.equal([...early, lateId!].sort());
    expect(await countRows(h.db, 'outbox')).to.equal(0);
  });

  it('keeps exactly-once and per-actor order with two relays on the same database', async () => {
    const topology = h.freshTopology('relay_two');
    const first = await startRelay(topology, {}, h.pool(5), await h.redisConnection());
    const second = await startRelay(topology, {}, h.pool(5), await h.redisConnection());
    const appended = await writeConcurrently(topology, 'two');
    await until('the relays to drain the outbox', async () => first.published + second.published >= appended.size && (await countRows(h.db, 'outbox')) === 0, 8_000);
    await expectPublishedOnceInOrder(topology, 'two', appended);
  });

  it('is woken by NOTIFY: a new message reaches Redis long before the next poll', async () => {
    const topology = h.freshTopology('relay_notify');
    await startRelay(topology, { pollMs: 10_000 });
    // Let the first (empty) batch run so the relay is parked in its 10 s wait.
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const m = await appendOne(writers, topology, 'notify', 0);
    // What a writer in another process does after its commit.
    new OutboxSignal(writers).committed();
    const key = topology.streamKey(TOPIC, topology.partitionOf('notify'));
    await until('the message on its stream', async () => (await h.redis.xlen(key)) === 1, 1_500, 10);
    const tookMs = Date.now() - started;
    expect(tookMs).to.be.below(1_000);
    const [[, fields]] = (await h.redis.xrange(key, '-', '+')) as [string, string[]][];
    expect(fields).to.deep.equal([TYPE_FIELD, m.type, MESSAGE_FIELD, fields[3]]);
    expect(JSON.parse(entryField(fields, MESSAGE_FIELD)!)).to.deep.equal(m);
  });

  it('sends no NOTIFY while the relay in its own process holds the lock, and one per window otherwise', async () => {
    const topology = h.freshTopology('relay_quiet');
    const listener = new pg.Client({ connectionString: h.databaseUrl });
    await listener.connect();
    let heard = 0;
    listener.on('notification', () => heard++);
    await listener.query(`LISTEN ${OUTBOX_CHANNEL}`);
    try {
      const signal = new OutboxSignal(h.db);
      const relay = new OutboxRelay(h.db, h.redis, topology, { batchSize: 50, pollMs: 20, streamMaxLen: 0, databaseUrl: h.databaseUrl }, h.log, signal);
      relays.push(relay);
      await relay.start();
      await until('the relay to have run a batch (and held the lock)', async () => relay.batches > 0, 1_000, 10);
      for (let i = 0; i < 5; i++) {
        signal.committed();
        await new Promise((r) => setTimeout(r, 30)); // longer than the 10 ms window
      }
      // A process without a relay (a web role) must tell the others.
      new OutboxSignal(h.db).committed();
      await until('the web role\'s NOTIFY', async () => heard >= 1, 1_000, 10);
      await new Promise((r) => setTimeout(r, 100));
      expect(heard, 'NOTIFYs sent: none by the lock holder, one by the other').to.equal(1);
    } finally {
      await listener.end();
    }
  });

  it('stands by while another relay holds the lock: commit signals do not make it retry, and it takes over within a second once the lock is free', async () => {
    const topology = h.freshTopology('relay_standby');
    // Another process's relay, in the middle of a batch: the lock is taken.
    const other = new pg.Client({ connectionString: h.databaseUrl });
    await other.connect();
    try {
      await other.query('SELECT pg_advisory_lock($1)', [RELAY_LOCK_KEY]);
      const signal = new OutboxSignal(h.db);
      const relay = new OutboxRelay(h.db, h.redis, topology, { batchSize: 50, pollMs: 20, streamMaxLen: 0, databaseUrl: h.databaseUrl }, h.log, signal);
      relays.push(relay);
      await relay.start();
      for (let i = 0; i < 50; i++) {
        signal.committed();
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(relay.batches, 'batches tried while standing by').to.be.at.most(2);
      await appendOne(writers, topology, 'standby', 0);
      await other.query('SELECT pg_advisory_unlock($1)', [RELAY_LOCK_KEY]);
      const freed = Date.now();
      await until('the standby relay to publish', async () => relay.published === 1, 2_000, 10);
      expect(Date.now() - freed).to.be.below(1_500);
    } finally {
      await other.end();
    }
  });

  it('deletes a batch through the primary key, not by scanning an outbox full of dead rows', async () => {
    // Statistics taken before the relayed rows died: the table looks big to the planner, as under load.
    await h.db.raw(`INSERT INTO outbox (topic, partition, message) SELECT 'plan', 0, '{}'::jsonb FROM generate_series(1, 5000)`);
    await h.db.raw('ANALYZE outbox');
    await h.db.raw(`DELETE FROM outbox WHERE topic = 'plan'`);
    await h.db.raw(`INSERT INTO outbox (topic, partition, message) SELECT 'plan', 0, '{}'::jsonb FROM generate_series(1, 20)`);
    try {
      const { rows } = await h.db.raw<{ rows: { 'QUERY PLAN': string }[] }>(`EXPLAIN ${RELAY_BATCH}`, [RELAY_LOCK_KEY, 1000]);
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).to.match(/Index Cond: \(id = ANY/);
      expect(plan).not.to.match(/Seq Scan/);
    } finally {
      await h.db.raw(`DELETE FROM outbox WHERE topic = 'plan'`);
    }
  });
});
