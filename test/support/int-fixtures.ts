/**
 * Building blocks for integration tests of the runtime core: a migrated database of its
 * own, Redis connections, a topology with a fresh key prefix, and envelopes. No runtime
 * is started; each test wires exactly the pieces it exercises, against real services.
 */
import { randomUUID } from 'node:crypto';
import { createDb, quoteIdent, type Db, type Queryable } from '../../runtime/store/database';
import { migrateLatest } from '../../runtime/store/migrate';
import { appendToStream } from '../../runtime/store/event-store';
import { connectRedis, type Redis } from '../../runtime/messaging/redis';
import { Topology } from '../../runtime/messaging/topology';
import type { Envelope } from '../../runtime/messaging/envelope';
import { MESSAGE_FIELD, TYPE_FIELD, entryField } from '../../runtime/messaging/stream-entry';
import { createLogger, type Logger } from '../../runtime/logger';
import { StreamConsumer, type ConsumerOptions } from '../../runtime/messaging/stream-consumer';
import { freshDatabase, freshPrefix, services } from './services';

export const TOPIC = 'things';
export const ACTOR_TYPE = 'Thing';

/** Everything one suite opened; `close()` in an `after` hook releases it all. */
export class IntHarness {
  private readonly redisConnections: Redis[] = [];
  private readonly dbs: Db[] = [];
  readonly log: Logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

  private constructor(
    readonly databaseUrl: string,
    readonly redisUrl: string,
    readonly db: Db,
    readonly redis: Redis,
    readonly topology: Topology,
  ) {}

  /** A migrated database (runtime tables only), a Redis connection and a fresh prefix. */
  static async open(label: string, partitions = 4): Promise<IntHarness> {
    const { redisUrl } = await services();
    const databaseUrl = await freshDatabase(label);
    const db = createDb(databaseUrl, 20);
    // Commits need not reach the disk in a throwaway database: this changes no visibility or
    // locking, only how long hundreds of small transactions take.
    await db.raw(`ALTER DATABASE ${quoteIdent(new URL(databaseUrl).pathname.slice(1))} SET synchronous_commit = off`);
    await migrateLatest(databaseUrl, []);
    const redis = await connectRedis(redisUrl);
    const h = new IntHarness(databaseUrl, redisUrl, db, redis, new Topology(freshPrefix(label), partitions));
    h.dbs.push(db);
    h.redisConnections.push(redis);
    return h;
  }

  /** Another Redis connection (a consumer's blocking reads need their own). */
  async redisConnection(): Promise<Redis> {
    const r = await connectRedis(this.redisUrl);
    this.redisConnections.push(r);
    return r;
  }

  /** Another knex pool on the same database (a second relay, a separate writer). */
  pool(max = 10): Db {
    const db = createDb(this.databaseUrl, max);
    this.dbs.push(db);
    return db;
  }

  /**
   * A consumer on its own blocking connection, with test-sized timings unless overridden.
   * The caller starts it (or drives `tick()`) and stops it.
   */
  async consumer(topology: Topology, options: Partial<ConsumerOptions> & Pick<ConsumerOptions, 'group' | 'handler'>): Promise<StreamConsumer> {
    return new StreamConsumer(this.db, this.redis, await this.redisConnection(), topology, {
      topics: [TOPIC],
      batchSize: 50,
      blockMs: 50,
      maxAttempts: 3,
      retryBaseMs: 20,
      claimIdleMs: 1_000,
      ...options,
    }, this.log);
  }

  /** A topology on a prefix of its own, so tests in one suite never share streams. */
  freshTopology(label: string, partitions = this.topology.partitions): Topology {
    return new Topology(freshPrefix(label), partitions);
  }

  async close(): Promise<void> {
    for (const r of this.redisConnections) r.disconnect();
    await Promise.all(this.dbs.map((d) => d.destroy()));
  }
}

export function envelope(actorId: string, version: number, data: unknown = {}, type = 'ThingHappened'): Envelope {
  const id = randomUUID();
  return {
    id,
    type,
    stream: TOPIC,
    actor: { type: ACTOR_TYPE, id: actorId },
    version,
    correlationId: id,
    causationId: id,
    occurredAt: new Date().toISOString(),
    data,
  };
}

/**
 * Appends one event at `expectedVersion + 1` with its outbox message, the way an actor
 * does: the envelope id is the event id.
 */
export async function appendOne(db: Queryable, topology: Topology, actorId: string, expectedVersion: number): Promise<Envelope> {
  const message = envelope(actorId, expectedVersion + 1, { n: expectedVersion + 1 });
  await appendToStream(db, {
    streamId: `${ACTOR_TYPE}-${actorId}`,
    streamType: ACTOR_TYPE,
    expectedVersion,
    events: [{ eventId: message.id, type: message.type, data: message.data }],
    metadata: { actorId, correlationId: message.correlationId, causationId: message.causationId },
    outbox: [{ topic: TOPIC, partition: topology.partitionOf(actorId), message }],
  });
  return message;
}

/** XADDs an envelope onto its partition stream, as the relay would. Returns the entry id. */
export async function publish(redis: Redis, topology: Topology, message: Envelope): Promise<string> {
  const key = topology.streamKey(message.stream, topology.partitionOf(message.actor.id));
  return (await redis.xadd(key, '*', TYPE_FIELD, message.type, MESSAGE_FIELD, JSON.stringify(message)))!;
}

/** How many entries of `key` are delivered to `group` but not acknowledged. */
export async function pendingCount(redis: Redis, key: string, group: string): Promise<number> {
  const [count] = (await redis.xpending(key, group)) as [number, ...unknown[]];
  return Number(count);
}

/** Every envelope on every partition stream of a topic, per stream in entry order. */
export async function readAllPartitions(redis: Redis, topology: Topology, topic = TOPIC): Promise<Envelope[][]> {
  const out: Envelope[][] = [];
  for (const key of topology.streamKeys(topic)) {
    const rows = (await redis.xrange(key, '-', '+')) as [string, string[]][];
    out.push(rows.map(([, fields]) => JSON.parse(entryField(fields, MESSAGE_FIELD)!) as Envelope));
  }
  return out;
}

export async function countRows(db: Queryable, table: string): Promise<number> {
  const { rows } = await db.raw<{ rows: { n: string }[] }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(rows[0].n);
}

/** Polls until `probe` is truthy; fails with `what` when the time is up. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 5_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
