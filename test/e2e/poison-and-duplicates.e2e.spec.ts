/**
 * Fault injection end to end, with real `tributary start` processes:
 *
 * - a poison message is retried with backoff while other actors of its partition go on,
 *   holds back its own actor's later messages, is parked in the dead letters after
 *   CONSUMER_MAX_ATTEMPTS with its error (HTTP and CLI show it), and is handled once when
 *   re-driven (HTTP and CLI);
 * - duplicates (one stream entry added twice, one outbox row inserted twice, every handled
 *   message added again after a kill -9 and restart) change nothing.
 *
 * The first two run against the probe context (test/fixtures/contexts/probe), which
 * records every message it handles. The last one adds every entry of every stream of a
 * deployment that ran the real order saga a second time.
 */
import { expect } from 'chai';
import { createRedis, type Redis } from '../../runtime/messaging/redis';
import pg from 'pg';
import { eventually, type TestEnv } from '../support/runtime';
import { freshDeployment, killStartedProcesses, spawnCli, startServer, type ServerProcess } from '../support/e2e-process';
import { client, type Client } from '../support/e2e-http';
import { ADDRESS, activeAccount, line, settledOrder, stockedWarehouse } from '../support/e2e-shop';
import { Topology } from '../../runtime/messaging/topology';
import type { Envelope } from '../../runtime/messaging/envelope';
import type { DeadLetter } from '../../runtime/messaging/dead-letters';
import { expectInvariants } from '../support/invariants';
import { caughtUp, fields, streamKeys } from '../support/e2e-streams';
import { PROBE_GROUP, PROBE_TOPIC, probeEnvelope, type ProbeData } from '../fixtures/contexts/probe/contract';

const PARTITIONS = 4;
const MAX_ATTEMPTS = 3;
/** Retries at +0.5 s and +1.5 s: a window wide enough to see other actors go on meanwhile. */
const RETRY_BASE_MS = 500;

const PROBE_SETTINGS: Record<string, string> = {
  CONTEXTS_DIR: 'test/fixtures/contexts',
  CONTEXTS: 'probe',
  ROLE: 'all',
  PARTITIONS: String(PARTITIONS),
  CONSUMER_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
  CONSUMER_RETRY_BASE_MS: String(RETRY_BASE_MS),
  // A kill -9'd process's leases expire soon, so its successor reads every partition at once.
  LEASE_TTL_MS: '2000',
  LEASE_RENEW_MS: '500',
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A row of the probe's record of what it handled. */
interface Handled {
  message_id: string;
  actor_id: string;
  seq: number;
  times_handled: number;
  handled_order: number;
  handled_at_ms: number;
}

/** Direct access to one deployment's Postgres and Redis, as an operator (or a broken relay) has it. */
class Backdoor {
  readonly redis: Redis;
  readonly db: pg.Client;
  readonly topology: Topology;

  constructor(readonly env: TestEnv) {
    this.redis = createRedis(env.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    this.db = new pg.Client({ connectionString: env.DATABASE_URL });
    this.topology = new Topology(env.REDIS_PREFIX, PARTITIONS);
  }

  async open(): Promise<void> {
    await Promise.all([this.redis.connect(), this.db.connect()]);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    await this.db.end().catch(() => undefined);
  }

  async rows<R>(sql: string, params: unknown[] = []): Promise<R[]> {
    return (await this.db.query(sql, params)).rows as R[];
  }

  probeKey(actorId: string): string {
    return this.topology.streamKey(PROBE_TOPIC, this.topology.partitionOf(actorId));
  }

  /**
   * XADDs messages onto their partition streams as the relay does (field `m`), one MULTI per
   * partition (one slot on a cluster), so each partition's arrive together; returns the entry ids.
   */
  async xadd(...messages: Envelope[]): Promise<string[]> {
    const byPartition = new Map<number, number[]>();
    messages.forEach((m, i) => {
      const p = this.topology.partitionOf(m.actor.id);
      byPartition.set(p, [...(byPartition.get(p) ?? []), i]);
    });
    const ids: string[] = [];
    await Promise.all([...byPartition].map(async ([p, indexes]) => {
      const multi = this.redis.multi();
      for (const i of indexes) multi.xadd(this.topology.streamKey(messages[i].stream, p), '*', 'm', JSON.stringify(messages[i]));
      const results = (await multi.exec()) ?? [];
      results.forEach(([err, id], j) => {
        if (err) throw err;
        ids[indexes[j]] = id as string;
      });
    }));
    return ids;
  }

  /** Inserts outbox rows, as a committed transaction does, for the real relay to publish. */
  async enqueue(...messages: Envelope[]): Promise<void> {
    for (const m of messages) {
      await this.db.query('INSERT INTO outbox (topic, partition, message) VALUES ($1, $2, $3::jsonb)', [m.stream, this.topology.partitionOf(m.actor.id), JSON.stringify(m)]);
    }
  }

  async handled(): Promise<Map<string, Handled>> {
    const rows = await this.rows<Handled>(
      `SELECT message_id, actor_id, seq, times_handled, handled_order::int AS handled_order,
              (extract(epoch FROM first_handled_at) * 1000)::float8 AS handled_at_ms
       FROM probe_handled`,
    );
    return new Map(rows.map((r) => [r.message_id, r]));
  }

  /** Every partition's dead letters, as raw entries under their dead letter ids (`p<partition>-<entry>`). */
  async deadLetters(): Promise<[string, string[]][]> {
    const perPartition = await Promise.all(this.topology.deadLetterKeys().map((key) => this.redis.xrange(key, '-', '+') as Promise<[string, string[]][]>));
    return perPartition.flatMap((entries, p) => entries.map(([id, fields]): [string, string[]] => [`p${p}-${id}`, fields]));
  }

  /** Failed attempts the group counts for an entry (0 when none, or once it was parked or handled), whatever its partition. */
  async attempts(group: string, entryId: string): Promise<number> {
    const counts = await Promise.all(Array.from({ length: this.topology.partitions }, (_, p) => this.redis.hget(this.topology.attemptsKey(group, p), entryId)));
    return counts.reduce((sum, n) => sum + Number(n ?? 0), 0);
  }

  /** Entries with attempt counters of the group, over every partition. */
  async countedEntries(group: string): Promise<number> {
    const lengths = await Promise.all(Array.from({ length: this.topology.partitions }, (_, p) => this.redis.hlen(this.topology.attemptsKey(group, p))));
    return lengths.reduce((a, b) => a + b, 0);
  }

  async inboxRows(group: string, messageId: string): Promise<number> {
    const [row] = await this.rows<{ n: number }>('SELECT count(*)::int AS n FROM inbox WHERE consumer = $1 AND message_id = $2', [group, messageId]);
    return row.n;
  }

  /** Every stream key of the deployment's partitions (not the dead letters, not the lease keys). */
  streamKeys(): Promise<string[]> {
    return streamKeys(this.redis, this.env.REDIS_PREFIX);
  }

  /** See {@link caughtUp}. */
  caughtUp(keys: string[], onlyGroup?: string): Promise<boolean> {
    return caughtUp(this.redis, keys, onlyGroup);
  }
}

/** `count` actor ids that share the partition of `first` (so their messages share one stream). */
function actorsOnPartitionOf(topology: Topology, first: string, count: number, label: string): string[] {
  const partition = topology.partitionOf(first);
  const ids: string[] = [];
  for (let i = 0; ids.length < count; i++) if (topology.partitionOf(`${label}-${i}`) === partition) ids.push(`${label}-${i}`);
  return ids;
}

/** The parked entry's fields as the dead-letter stream holds them. */
function letterOf([id, flat]: [string, string[]]): { id: string; group: string; error: string; attempts: number; failedAt: string; entry: string; message: Envelope<ProbeData> } {
  const f = fields(flat) as Record<string, string>;
  return { id, group: f.group, error: f.error, attempts: Number(f.attempts), failedAt: f.failedAt, entry: f.entry, message: JSON.parse(f.m) as Envelope<ProbeData> };
}

/** Runs the CLI with the deployment's environment to its end; fails with its stderr. */
async function cli(env: Record<string, string>, args: string[]): Promise<string> {
  const p = spawnCli(env, args);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 20_000);
  const exit = await p.exited;
  clearTimeout(timer);
  expect(exit.code, `tributary ${args.join(' ')}: ${p.stderr()}`).to.equal(0);
  return p.stdout();
}

describe('poison messages and duplicates end to end (probe context)', function () {
  this.timeout(30_000);
  let env: TestEnv;
  let server: ServerProcess;
  let api: Client;
  let store: Backdoor;

  before(async function () {
    this.timeout(60_000);
    env = await freshDeployment('e2e_poison');
    server = await startServer(env, PROBE_SETTINGS);
    api = client(server.url);
    store = new Backdoor(env);
    await store.open();
  });

  after(async () => {
    await store?.close();
    await killStartedProcesses();
  });

  // Actor X has the poison message between two good ones; W's poison arrives through the outbox.
  // Y and Z share X's partition, so they are read with it and could be held back by it.
  let X: string, Y: string, Z: string, W: string;
  let m1: Envelope<ProbeData>, m2: Envelope<ProbeData>, m3: Envelope<ProbeData>, w1: Envelope<ProbeData>, w2: Envelope<ProbeData>;

  it('retries a poison message while other actors go on, holds its own actor back, then parks it after 3 attempts', async () => {
    const topology = store.topology;
    [X, Y, Z, W] = actorsOnPartitionOf(topology, 'actor-x-0', 4, 'actor');
    [m1, m2, m3] = [probeEnvelope(X, { seq: 1 }), probeEnvelope(X, { seq: 2, poison: true }), probeEnvelope(X, { seq: 3 })];
    [w1, w2] = [probeEnvelope(W, { seq: 1, poison: true }), probeEnvelope(W, { seq: 2 })];
    const others = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => [probeEnvelope(Y, { seq: from + i }), probeEnvelope(Z, { seq: from + i })]).flat();
    const firstWave = others(1, 3);

    const [, m2Entry] = await store.xadd(m1, m2, firstWave[0], firstWave[1], m3, ...firstWave.slice(2));
    await store.enqueue(w1, w2);
    // Both poison messages failed once (W's came through the relay) and wait for their retries.
    await eventually(async () => (await store.attempts(PROBE_GROUP, m2Entry)) >= 1 && (await store.countedEntries(PROBE_GROUP)) === 2, 10_000, 20);

    // What arrives now must not wait for them.
    const secondWave = others(4, 13);
    const sentAt = Date.now();
    await store.xadd(...secondWave);
    const yz = [...firstWave, ...secondWave].map((m) => m.id);
    await eventually(async () => {
      const handled = await store.handled();
      return yz.every((id) => handled.has(id));
    }, 10_000, 20);
    const yzMs = Date.now() - sentAt;
    const parkedMeanwhile = (await store.deadLetters()).map(letterOf).filter((l) => l.message.id === m2.id);
    expect(parkedMeanwhile, 'Y and Z were handled only once m2 was parked').to.deep.equal([]);
    expect(await store.attempts(PROBE_GROUP, m2Entry)).to.be.within(1, MAX_ATTEMPTS - 1);
    let handled = await store.handled();
    expect(handled.has(m1.id), 'm1, before the poison message, is handled').to.equal(true);
    expect(handled.has(m3.id), 'm3 overtook the failing m2 of its actor').to.equal(false);

    // Until m2 is parked, m3 stays unhandled: each look at m3 is followed by a look at the dead letters.
    const begin = Date.now();
    const m2Letter = await eventually(async () => {
      const m3Handled = (await store.handled()).has(m3.id);
      const letter = (await store.deadLetters()).map(letterOf).find((l) => l.message.id === m2.id);
      if (m3Handled) expect(letter, 'm3 was handled before m2 was parked').to.not.equal(undefined);
      return m3Handled && letter;
    }, 15_000, 20);
    console.log(`      ${secondWave.length} messages of Y and Z handled ${yzMs} ms after they were sent, while m2 waited for a retry; m2 parked and m3 handled ${Date.now() - begin} ms later`);

    handled = await store.handled();
    expect(handled.get(m3.id)!.handled_at_ms, 'm3 handled after m2 was parked').to.be.at.least(Date.parse(m2Letter.failedAt));
    expect(handled.get(m3.id)!.handled_order).to.be.greaterThan(handled.get(m1.id)!.handled_order);
    expect(handled.has(m2.id), 'the poison message has no effect').to.equal(false);
    expect(m2Letter).to.deep.include({ group: PROBE_GROUP, attempts: MAX_ATTEMPTS, entry: m2Entry });
    expect(m2Letter.error).to.equal(`probe refuses poison message ${m2.id} while the poison switch is on`);
    expect(m2Letter.message).to.deep.equal(m2);
    expect(await store.attempts(PROBE_GROUP, m2Entry), 'no attempt counter is left behind').to.equal(0);

    // Every actor's messages were handled in its own order.
    for (const actor of [Y, Z]) {
      const seqs = [...handled.values()].filter((h) => h.actor_id === actor).sort((a, b) => a.handled_order - b.handled_order).map((h) => h.seq);
      expect(seqs, actor).to.deep.equal(Array.from({ length: 13 }, (_, i) => i + 1));
    }

    // W's poison message came through the outbox and the relay: the same holds for it.
    const wLetter = await eventually(async () => (await store.deadLetters()).map(letterOf).find((l) => l.message.id === w1.id), 10_000, 20);
    expect(wLetter).to.deep.include({ group: PROBE_GROUP, attempts: MAX_ATTEMPTS });
    expect(wLetter.error).to.match(/poison message/);
    const w2Handled = await eventually(async () => (await store.handled()).get(w2.id), 5_000, 20);
    expect(w2Handled.handled_at_ms).to.be.at.least(Date.parse(wLetter.failedAt));
  });

  it('lists both dead letters over HTTP and through `tributary dlq list`', async () => {
    const r = await api.get('/v1/ops/dead-letters');
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect(r.body.count).to.equal(2);
    const overHttp = r.body._embedded.deadLetterList as (DeadLetter & { _links: { redrive: { href: string } } })[];
    expect(overHttp.map((l) => l.message?.id).sort()).to.deep.equal([m2.id, w1.id].sort());
    for (const l of overHttp) {
      expect(l).to.include({ group: PROBE_GROUP, attempts: MAX_ATTEMPTS, error: `probe refuses poison message ${l.message!.id} while the poison switch is on` });
      expect(l._links.redrive.href).to.equal(`/v1/ops/dead-letters/${l.id}/redrive`);
    }

    const overCli = JSON.parse(await cli(server.env, ['dlq', 'list'])) as DeadLetter[];
    expect(overCli).to.deep.equal(overHttp.map(({ _links, ...letter }) => letter));
  });

  it('handles each re-driven message exactly once once the poison is gone (HTTP and CLI re-drive)', async () => {
    await store.db.query(`UPDATE probe_switches SET enabled = false WHERE name = 'poison'`);
    const letters = (await store.deadLetters()).map(letterOf);
    const m2Letter = letters.find((l) => l.message.id === m2.id)!;
    const w1Letter = letters.find((l) => l.message.id === w1.id)!;

    const r = await api.post(`/v1/ops/dead-letters/${m2Letter.id}/redrive`);
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect(r.body).to.include({ redriven: m2Letter.id, streamKey: store.probeKey(X), type: m2.type });
    const out = await cli(server.env, ['dlq', 'redrive', w1Letter.id]);
    expect(out).to.equal(`re-driven ${w1Letter.id} to ${store.probeKey(W)}\n`);

    await eventually(async () => {
      const handled = await store.handled();
      return handled.has(m2.id) && handled.has(w1.id);
    }, 10_000, 20);
    // Nothing left to deliver or retry, so nothing could still add a second effect.
    await eventually(() => store.caughtUp(store.topology.streamKeys(PROBE_TOPIC), PROBE_GROUP), 10_000, 50);
    const handled = await store.handled();
    for (const m of [m2, w1]) {
      expect(handled.get(m.id)!.times_handled, m.id).to.equal(1);
      expect(await store.inboxRows(PROBE_GROUP, m.id)).to.equal(1);
    }
    expect(await store.deadLetters()).to.deep.equal([]);
    expect((await api.get('/v1/ops/dead-letters')).body.count).to.equal(0);
  });

  it('has the effect of a message once when its stream entry or its outbox row is there twice', async () => {
    const [A, B] = actorsOnPartitionOf(store.topology, 'dup-a-0', 2, 'dup');
    const twiceInOneRead = probeEnvelope(A, { seq: 1 });
    const twiceApart = probeEnvelope(A, { seq: 2 });
    const twiceInOutbox = probeEnvelope(B, { seq: 1 });
    await store.xadd(twiceInOneRead, twiceInOneRead, twiceApart);
    await eventually(async () => (await store.handled()).has(twiceApart.id), 10_000, 20);
    await store.xadd(twiceApart);
    await store.enqueue(twiceInOutbox, twiceInOutbox);

    await eventually(async () => {
      const [{ n }] = await store.rows<{ n: number }>('SELECT count(*)::int AS n FROM outbox');
      return n === 0 && (await store.caughtUp(store.topology.streamKeys(PROBE_TOPIC), PROBE_GROUP));
    }, 10_000, 50);
    const entries = (await store.redis.xrange(store.probeKey(A), '-', '+')) as [string, string[]][];
    const copies = (id: string) => entries.filter(([, f]) => (JSON.parse(fields(f).m as string) as Envelope).id === id).length;
    expect([copies(twiceInOneRead.id), copies(twiceApart.id), copies(twiceInOutbox.id)], 'each is on the stream twice').to.deep.equal([2, 2, 2]);

    const handled = await store.handled();
    for (const m of [twiceInOneRead, twiceApart, twiceInOutbox]) {
      expect(handled.get(m.id)?.times_handled, m.id).to.equal(1);
      expect(await store.inboxRows(PROBE_GROUP, m.id)).to.equal(1);
    }
    expect(await store.deadLetters()).to.deep.equal([]);
  });

  it('changes nothing when every message handled so far arrives again after a kill -9 and a restart', async function () {
    this.timeout(45_000);
    const before = await store.handled();
    server.child.kill('SIGKILL');
    await server.exited;
    server = await startServer(env, PROBE_SETTINGS);
    api = client(server.url);

    // One copy of every message on the probe streams, then a new one behind them on each partition.
    const seen = new Map<string, Envelope>();
    for (const key of store.topology.streamKeys(PROBE_TOPIC)) {
      for (const [, f] of (await store.redis.xrange(key, '-', '+')) as [string, string[]][]) {
        const m = JSON.parse(fields(f).m as string) as Envelope;
        seen.set(m.id, m);
      }
    }
    expect(seen.size).to.equal(before.size);
    const canaries = Array.from({ length: PARTITIONS }, (_, p) => {
      let i = 0;
      while (store.topology.partitionOf(`canary-${i}`) !== p) i++;
      return probeEnvelope(`canary-${i}`, { seq: 1 });
    });
    await store.xadd(...seen.values(), ...canaries);

    await eventually(async () => {
      const handled = await store.handled();
      return canaries.every((c) => handled.has(c.id)) && (await store.caughtUp(store.topology.streamKeys(PROBE_TOPIC), PROBE_GROUP));
    }, 20_000, 50);
    const after = await store.handled();
    for (const c of canaries) after.delete(c.id);
    expect([...after.values()].map((h) => [h.message_id, h.times_handled]).sort()).to.deep.equal([...before.values()].map((h) => [h.message_id, h.times_handled]).sort());
    expect([...after.values()].every((h) => h.times_handled === 1)).to.equal(true);
    expect(await store.deadLetters()).to.deep.equal([]);
  });
});

describe('duplicates of every message of the order saga end to end', function () {
  this.timeout(60_000);
  let server: ServerProcess;
  let store: Backdoor;

  after(async () => {
    await store?.close();
    await server?.stop();
    await killStartedProcesses();
  });

  it('adds every stream entry again: no new event, no status change, every invariant holds', async () => {
    const env = await freshDeployment('e2e_saga_dups');
    server = await startServer(env, { CONTEXTS: 'all', ROLE: 'all', TIMER_POLL_MS: '100', ORDER_STEP_TIMEOUT_MS: '30000' });
    store = new Backdoor(env);
    await store.open();
    const api = client(server.url);
    const accountId = await activeAccount(api);
    await stockedWarehouse(api, { 'SKU-DUP': 2 });
    // Three orders for two units: two succeed, one fails and is compensated.
    const posted = await Promise.all([1, 2, 3].map(() => api.post('/v1/orders', { accountId, lineItems: [line('SKU-DUP', 1)], shippingAddress: ADDRESS })));
    expect(posted.map((r) => r.status)).to.deep.equal([201, 201, 201]);
    const orderIds = posted.map((r) => r.body.orderId as string);
    const statuses = async () => Promise.all(orderIds.map(async (id) => (await api.get(`/v1/orders/${id}`)).body.status as string));
    await Promise.all(orderIds.map((id) => settledOrder(api, id)));
    expect((await statuses()).sort()).to.deep.equal(['ORDER_FAILED', 'ORDER_SUCCEEDED', 'ORDER_SUCCEEDED']);

    // Quiet first: the outbox relayed and every group done, so what follows is the duplicates' doing.
    const keys = await store.streamKeys();
    await eventually(async () => {
      const [{ n }] = await store.rows<{ n: number }>('SELECT count(*)::int AS n FROM outbox');
      return n === 0 && (await store.caughtUp(keys));
    }, 15_000, 100);
    const counts = async () => (await store.rows<{ events: number; inbox: number }>('SELECT (SELECT count(*) FROM events)::int AS events, (SELECT count(*) FROM inbox)::int AS inbox'))[0];
    const before = { counts: await counts(), statuses: await statuses() };
    const lengths = new Map<string, number>();
    let copies = 0;
    for (const key of keys) {
      const entries = (await store.redis.xrange(key, '-', '+')) as [string, string[]][];
      lengths.set(key, entries.length);
      if (entries.length === 0) continue;
      const multi = store.redis.multi();
      for (const [, f] of entries) multi.xadd(key, '*', ...f);
      await multi.exec();
      copies += entries.length;
    }
    expect(copies).to.be.greaterThan(0);

    const begin = Date.now();
    await eventually(() => store.caughtUp(keys), 20_000, 100);
    console.log(`      ${copies} duplicate entries over ${keys.length} streams consumed in ${Date.now() - begin} ms`);
    await sleep(500); // an effect of a duplicate (an outbox row, a job) would show by now
    expect(await counts()).to.deep.equal(before.counts);
    expect(await statuses()).to.deep.equal(before.statuses);
    // Nothing new was published: each stream holds its entries and their copies, no more.
    for (const key of await store.streamKeys()) expect(await store.redis.xlen(key), key).to.equal(2 * (lengths.get(key) ?? 0));
    expect(await store.deadLetters()).to.deep.equal([]);

    await expectInvariants(env.DATABASE_URL);
  });
});
