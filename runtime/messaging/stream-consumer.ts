import os from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Db } from '../store/database';
import type { Logger } from '../logger';
import { keyedBatch, type Redis } from './redis';
import type { Topology } from './topology';
import { backoff } from '../wakeup';
import { parseEntry, type Entry, type StreamReply } from './consumer-entry';
import type { ConsumerCounts, ConsumerOptions } from './consumer-options';
import { RetryBook } from './consumer-retries';
import { Claims } from './consumer-claims';
import { ConsumerBatches } from './consumer-batch';
import { streamReads, type PartitionKeys, type StreamReads } from './consumer-reads';

export type { ConsumerCounts, ConsumerOptions, Delivery, MessageHandler } from './consumer-options';

/**
 * Reads a consumer group over every partition stream of its topics and hands each
 * message to the handler exactly once in effect. This is the read loop; the rest is in
 * one module per concept:
 *
 * - `consumer-batch.ts`: a partition's batch in one transaction with its inbox rows, XACK
 *   after the commit, one message per transaction when the batch fails;
 * - `consumer-inbox.ts`: the inbox (dedupe), checked against the partition's fencing token;
 * - `consumer-retries.ts`: retries with backoff, per-actor order behind a failing message,
 *   dead letters after `maxAttempts`;
 * - `consumer-claims.ts`: entries left pending by a dead consumer, claimed after
 *   `claimIdleMs` (XAUTOCLAIM), and those of a partition this consumer won;
 * - `consumer-reads.ts`: the XREADGROUP reads (one command, or one per slot on a cluster);
 * - `consumer-entry.ts`: parsing what was read.
 */
export class StreamConsumer {
  readonly name: string;
  private running = false;
  private loop?: Promise<void>;
  private pendingDue = 0;
  private readonly reads: StreamReads;
  /**
   * Per partition since start: messages handled (committed and acknowledged), failed
   * attempts, messages dead-lettered. Plain numbers, read by the metrics at scrape time.
   */
  readonly counts: ConsumerCounts;
  private readonly batches: ConsumerBatches;
  private readonly claims: Claims;
  private readonly allPartitions: readonly number[];
  private keysCache: { partitions: readonly number[]; keys: string[]; byPartition: PartitionKeys[] } = { partitions: [], keys: [], byPartition: [] };
  private readonly partitionByKey = new Map<string, number>();
  private groupsEnsured = false;

  /** Messages handled (committed) since start. */
  get handled(): number {
    return this.batches.handled;
  }

  /** Batches that failed as a whole and were retried one message per transaction, since start. */
  get batchesSplit(): number {
    return this.batches.batchesSplit;
  }

  /** The consumer group. */
  get group(): string {
    return this.options.group;
  }

  /** The topics it reads. */
  get topics(): string[] {
    return this.options.topics;
  }

  constructor(
    db: Db,
    private readonly redis: Redis,
    blockingRedis: Redis,
    private readonly topology: Topology,
    private readonly options: ConsumerOptions,
    private readonly log: Logger,
  ) {
    this.allPartitions = Array.from({ length: topology.partitions }, (_, p) => p);
    const zeros = () => new Array<number>(topology.partitions).fill(0);
    this.counts = { handled: zeros(), failed: zeros(), deadLettered: zeros() };
    this.name = options.consumerName ?? `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    const schedulePending = (at: number) => this.schedulePending(at);
    const partitionOf = (key: string) => this.partitionOfKey(key);
    const book = new RetryBook(redis, topology, options.group, options, this.counts, partitionOf, schedulePending, log);
    this.batches = new ConsumerBatches(db, redis, topology, options, book, this.counts, partitionOf, log);
    this.claims = new Claims(redis, options.group, this.name, options, (ps) => this.keysOf(ps), schedulePending, log);
    this.reads = streamReads(redis, blockingRedis, options.group, this.name);
  }

  /** Stream keys of the partitions this consumer reads now (recomputed only when ownership changes). */
  private keys(): string[] {
    return this.owned().keys;
  }

  private owned(): { keys: string[]; byPartition: PartitionKeys[] } {
    const partitions = this.options.ownership?.owned() ?? this.allPartitions;
    if (partitions !== this.keysCache.partitions) {
      const byPartition = partitions.map((p) => this.options.topics.map((t) => this.topology.streamKey(t, p)));
      this.keysCache = { partitions, keys: byPartition.flat(), byPartition };
    }
    return this.keysCache;
  }

  private keysOf(partitions: readonly number[]): string[] {
    return this.options.topics.flatMap((t) => partitions.map((p) => this.topology.streamKey(t, p)));
  }

  private partitionOfKey(key: string): number {
    let p = this.partitionByKey.get(key);
    if (p === undefined) this.partitionByKey.set(key, (p = this.topology.parseStreamKey(key).partition));
    return p;
  }

  /** Creates the group on every partition stream (owned or not: ownership moves). */
  async ensureGroups(): Promise<void> {
    // One round trip for all of them; a group that exists already answers BUSYGROUP.
    const batch = keyedBatch(this.redis);
    for (const key of this.keysOf(this.allPartitions)) batch.xgroup('CREATE', key, this.options.group, '0', 'MKSTREAM');
    for (const [err] of (await batch.exec()) ?? []) {
      if (err && !String(err.message).includes('BUSYGROUP')) throw err;
    }
    this.groupsEnsured = true;
  }

  /** Starts reading (creating the groups first unless {@link ensureGroups} already ran). */
  async start(): Promise<void> {
    if (!this.groupsEnsured) await this.ensureGroups();
    await this.reads.start();
    this.running = true;
    // Our own pending entries from an earlier life of this consumer name come first.
    this.pendingDue = Date.now();
    this.loop = this.run();
  }

  /** Stops reading; resolves when the batch in flight has committed and been acknowledged. */
  async stop(): Promise<void> {
    this.running = false;
    // A blocked read would hold the stop (and the hand-over of the partitions) for up to blockMs.
    await this.interruptRead();
    await this.loop;
    this.reads.close();
  }

  /** Cuts a blocking read short (it returns nothing); the next round reads the current partitions. */
  interruptRead(): Promise<void> {
    return this.reads.interrupt();
  }

  /**
   * Takes over every pending entry of these partitions (won from another owner), now and
   * once more a read's length later (see {@link Claims.adopt}).
   */
  adopt(partitions: number[]): Promise<void> {
    return this.claims.adopt(partitions);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        await this.tick();
        failures = 0;
      } catch (err) {
        const message = (err as Error).message ?? String(err);
        if (message.includes('NOGROUP')) {
          // Redis lost its data (or the stream was deleted): recreate and go on.
          this.log.warn({}, 'consumer group missing; recreating');
          await this.ensureGroups().catch(() => undefined);
          continue;
        }
        failures++;
        const delay = backoff(failures, 100, 5_000);
        // Entries of the failed round are still pending here: look at them on the next round.
        this.schedulePending(Date.now() + delay);
        this.log.warn({ err: message, retryInMs: delay }, 'consumer loop failed');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** One read-and-handle round. Exposed for tests. */
  async tick(): Promise<number> {
    const now = Date.now();
    await this.claims.due(now, () => this.keys());
    const { keys, byPartition: owned } = this.owned();
    if (keys.length === 0) {
      // No partition owned (yet, or leases not renewed): wait for the lease manager.
      await new Promise((r) => setTimeout(r, Math.min(this.options.blockMs, 200)));
      return 0;
    }
    let reply: StreamReply;
    let fullPage = false;
    if (this.pendingDue && now >= this.pendingDue) {
      // Each entry read here schedules its own next look (retry due, blocked behind its actor);
      // a due time left in the past would re-read the pending list on every tick and never
      // read new entries, so other actors would wait for a failing one.
      this.pendingDue = 0;
      const page = this.options.batchSize * 2;
      reply = await this.reads.pending(owned, page);
      fullPage = reply?.some(([, e]) => e.length >= page) ?? false;
    } else {
      const block = this.pendingDue ? Math.max(1, Math.min(this.options.blockMs, this.pendingDue - now)) : this.options.blockMs;
      reply = await this.reads.fresh(owned, this.options.batchSize, block);
    }
    if (!reply) return 0;
    // One batch per partition number across topics: an actor's messages on every topic of
    // this group share its partition, so they are handled in one place, one at a time.
    const byPartition = new Map<number, Entry[]>();
    for (const [key, entries] of reply) {
      if (entries.length === 0) continue;
      const partition = this.partitionOfKey(key);
      let batch = byPartition.get(partition);
      if (!batch) byPartition.set(partition, (batch = []));
      for (const [id, fields] of entries) batch.push(parseEntry(key, id, fields, this.options.accepts));
    }
    // Every partition's batch settles before the round ends, even when one fails: the next
    // round must not re-read entries that a batch of this one is still handling.
    const settled = await Promise.allSettled([...byPartition].map(([partition, batch]) => this.batches.handle(partition, batch)));
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const acked = settled.reduce((a, r) => a + (r as PromiseFulfilledResult<number>).value, 0);
    // More pending entries may wait behind a full page: next page now if this one moved.
    if (fullPage) this.schedulePending(acked > 0 ? Date.now() : Date.now() + this.options.retryBaseMs);
    return acked;
  }

  private schedulePending(at: number): void {
    this.pendingDue = this.pendingDue ? Math.min(this.pendingDue, at) : at;
  }
}
