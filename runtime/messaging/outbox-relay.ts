import { Client } from 'pg';
import { SpanKind } from '@opentelemetry/api';
import type { Db } from '../store/database';
import { OUTBOX_CHANNEL } from '../store/event-store';
import type { Logger } from '../logger';
import { keyedBatch, type Redis } from './redis';
import type { Topology } from './topology';
import { MESSAGE_FIELD, TYPE_FIELD } from './stream-entry';
import type { OutboxSignal } from './outbox-signal';
import { Wakeup, backoff } from '../wakeup';
import { tracer, contextFromCarrier } from '../telemetry/propagation';
import { Attr, MESSAGING_SYSTEM, SpanNames } from '../telemetry/names';

export interface RelayOptions {
  batchSize: number;
  pollMs: number;
  /** Approximate cap on each stream's length (XADD MAXLEN ~); 0 keeps everything. */
  streamMaxLen: number;
  databaseUrl: string;
}

interface OutboxRow {
  /** Whether this relay holds the lock: the one column of the row returned when it moved nothing. */
  locked: boolean;
  id: string;
  topic: string;
  /** As written; advisory only: the relay routes by {@link OutboxRow.actor_id} (see publish). */
  partition: number;
  actor_id: string;
  json: string;
  traceparent: string | null;
  tracestate: string | null;
  type: string;
}

/**
 * One relay batch in one round trip: take the relay lock (or get nothing), delete the oldest
 * rows and return them (or one row saying whether the lock was ours). The ids go in as an
 * array, so that the delete looks each one up in the primary key: as a join, the planner
 * hashes a sequential scan of the whole table, dead rows of every relayed batch included
 * (ops/bench/README.md, "Figures behind the code").
 */
export const RELAY_BATCH = `WITH lock AS (SELECT pg_try_advisory_xact_lock(?) AS locked),
        moved AS (
          DELETE FROM outbox o
           WHERE o.id = ANY (ARRAY(SELECT id FROM outbox WHERE (SELECT locked FROM lock) ORDER BY id LIMIT ?))
          RETURNING o.id, o.topic, o.partition, o.message->'actor'->>'id' AS actor_id, o.message::text AS json, o.message->>'traceparent' AS traceparent,
                    o.message->>'tracestate' AS tracestate, o.message->>'type' AS type)
   SELECT lock.locked, moved.* FROM lock LEFT JOIN moved ON true`;

/**
 * XADDs every entry given (type, message pairs after ARGV[1]), in order, onto one stream;
 * MAXLEN ~ when ARGV[1] is not 0 (entry fields: see stream-entry.ts).
 */
const XADD_MANY = `
local maxlen = ARGV[1]
for i = 2, #ARGV, 2 do
  if maxlen ~= '0' then redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', '${TYPE_FIELD}', ARGV[i], '${MESSAGE_FIELD}', ARGV[i + 1])
  else redis.call('XADD', KEYS[1], '*', '${TYPE_FIELD}', ARGV[i], '${MESSAGE_FIELD}', ARGV[i + 1]) end
end
return (#ARGV - 1) / 2`;

type XaddManyPipeline = ReturnType<Redis['pipeline']> & { xaddmany(key: string, maxLen: string, ...entries: string[]): unknown };

/** The connection with the script defined (ioredis sends EVALSHA, and EVAL when Redis lost it). */
function withXaddMany(redis: Redis): Redis {
  if (!('xaddmany' in redis)) redis.defineCommand('xaddmany', { numberOfKeys: 1, lua: XADD_MANY });
  return redis;
}

/** One key for the whole relay: only the holder of this lock publishes. */
export const RELAY_LOCK_KEY = 0x7472_6962; // "trib"

/**
 * Moves committed outbox rows to their Redis stream partitions.
 *
 * Ordering and gap safety: rows are published in id order and deleted in the same
 * transaction that read them, under a transaction-scoped advisory lock, so one relay at a
 * time publishes. A row of a transaction that commits late is not skipped: there is no
 * cursor to move past it; it is simply read by a later batch. An actor's rows are always
 * committed in version order (a writer of version n+1 must have read version n committed),
 * so id order never reorders one actor. If the delete fails after the XADD (crash, lost
 * connection) the rows are published again; consumers dedupe on the message id.
 */
export class OutboxRelay {
  private readonly wakeup = new Wakeup();
  private running = false;
  private loop?: Promise<void>;
  private listener?: Client;
  /** Messages published since start (for metrics and tests). */
  published = 0;
  /** Batches tried since start, whether they held the lock or not (for tests). */
  batches = 0;
  /** Whether the last batch held the relay lock; a relay that did not stands by. */
  private holder = true;

  private readonly redis: Redis;

  constructor(
    private readonly db: Db,
    redis: Redis,
    private readonly topology: Topology,
    private readonly options: RelayOptions,
    private readonly log: Logger,
    /** Commits in this process wake the relay directly; other processes' through LISTEN. */
    signal?: OutboxSignal,
  ) {
    this.unsubscribe = signal?.onCommitted(() => {
      this.wakeup.wake();
      return this.running && this.holder;
    });
    this.redis = withXaddMany(redis);
  }

  private readonly unsubscribe?: () => void;

  async start(): Promise<void> {
    this.running = true;
    await this.listen();
    this.loop = this.run();
  }

  /** Stops the loop, then flushes what is committed (bounded by `deadline`). */
  async stop(deadline = Date.now() + 5_000): Promise<void> {
    this.running = false;
    this.wakeup.wake();
    await this.loop;
    while (Date.now() < deadline) {
      try {
        if ((await this.relayBatch()) === 0) break;
      } catch (err) {
        this.log.warn({ err }, 'outbox flush on shutdown failed');
        break;
      }
    }
    this.unsubscribe?.();
    await this.listener?.end().catch(() => undefined);
  }

  private async listen(): Promise<void> {
    const client = new Client({ connectionString: this.options.databaseUrl, application_name: 'tributary-relay-listen' });
    client.on('notification', () => this.wakeup.wake());
    // One lost connection, one reconnection: a reset reports twice ('read ECONNRESET', then
    // 'Connection terminated unexpectedly'), and a failed LISTEN both rejects and reports.
    // Reconnecting on each would double the LISTEN connections with every Postgres restart.
    let retried = false;
    const retry = (delayMs: number) => {
      if (retried) return;
      retried = true;
      if (this.listener === client) this.listener = undefined;
      void client.end().catch(() => undefined);
      if (this.running) setTimeout(() => void (this.running && this.listen().catch(() => undefined)), delayMs).unref();
    };
    client.on('error', (err) => {
      if (!retried) this.log.warn({ err: err.message }, 'outbox LISTEN connection lost; polling until it is back');
      retry(1_000);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
      if (!retried) this.listener = client;
    } catch (err) {
      if (!retried) this.log.warn({ err: (err as Error).message }, 'outbox LISTEN failed; polling only');
      retry(2_000);
    }
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        const n = await this.relayBatch();
        failures = 0;
        if (n === this.options.batchSize) continue;
        if (this.holder) await this.wakeup.wait(this.options.pollMs);
        else await this.standBy();
      } catch (err) {
        failures++;
        const delay = backoff(failures, 100, 5_000);
        this.log.warn({ err: (err as Error).message, retryInMs: delay }, 'outbox relay failed');
        await this.wakeup.wait(delay);
      }
    }
  }

  /**
   * Another process's relay holds the lock: wait `max(pollMs, 1 s)` before trying again, and
   * ignore commit signals meanwhile. Otherwise every worker's relay would run a transaction on
   * every commit signal only to find the lock taken: with 4 workers, about 60 % more
   * transactions per order (ops/bench/README.md). The lock changes hands within that time if its holder dies.
   */
  private async standBy(): Promise<void> {
    const until = Date.now() + Math.max(this.options.pollMs, 1_000);
    while (this.running && Date.now() < until) await this.wakeup.wait(until - Date.now());
  }

  /** Publishes one batch; returns how many rows it moved (0 when idle or not the lock holder). */
  async relayBatch(): Promise<number> {
    this.batches++;
    return this.db.transaction(async (tx) => {
      // The delete commits only after the XADDs succeeded; a failure rolls it back.
      const { rows } = await tx.raw<{ rows: OutboxRow[] }>(RELAY_BATCH, [RELAY_LOCK_KEY, this.options.batchSize]);
      this.holder = rows[0].locked;
      if (rows[0].id === null) return 0;
      rows.sort((a, b) => Number(a.id) - Number(b.id)); // RETURNING has no order; an actor's rows must keep theirs
      await this.publish(rows);
      this.published += rows.length;
      return rows.length;
    });
  }

  /**
   * One script call per stream key appends all of the batch's entries for it, in order: far
   * less client work per message than one XADD command each (and one key per call, so it
   * also runs on a Redis Cluster, each partition's key in its own slot).
   */
  private async publish(rows: OutboxRow[]): Promise<void> {
    const byKey = new Map<string, string[]>();
    const spans = [];
    for (const row of rows) {
      // The partition under this relay's PARTITIONS, not the row's: a row written by a process
      // started before a repartition must still land where the deployment's workers read.
      const partition = this.topology.partitionOf(row.actor_id);
      const key = this.topology.streamKey(row.topic, partition);
      let entries = byKey.get(key);
      if (!entries) byKey.set(key, (entries = []));
      entries.push(row.type, row.json);
      if (row.traceparent) {
        const destination = this.topology.destination(row.topic, partition);
        spans.push(
          tracer().startSpan(
            SpanNames.publish(destination),
            {
              kind: SpanKind.PRODUCER,
              attributes: {
                [Attr.messagingSystem]: MESSAGING_SYSTEM,
                [Attr.messagingOperation]: 'send',
                [Attr.messagingDestination]: destination,
                [Attr.messageType]: row.type,
              },
            },
            contextFromCarrier({ traceparent: row.traceparent, tracestate: row.tracestate ?? undefined }),
          ),
        );
      }
    }
    const pipeline = keyedBatch(this.redis);
    const maxLen = String(this.options.streamMaxLen);
    for (const [key, entries] of byKey) (pipeline as XaddManyPipeline).xaddmany(key, maxLen, ...entries);
    const results = await pipeline.exec();
    for (const span of spans) span.end();
    const failed = results?.find(([err]) => err);
    if (!results || failed) throw failed?.[0] ?? new Error('Redis pipeline returned no result');
  }
}
