import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { SpanKind, context as otelContext } from '@opentelemetry/api';
import { writesOf, type Db, type Tx } from '../store/database';
import type { Logger } from '../logger';
import { ConcurrencyError, ServiceUnavailableError } from '../errors';
import type { Redis } from './redis';
import { MESSAGE_FIELD, TYPE_FIELD, entryField } from './stream-entry';
import type { Topology } from './topology';
import type { Envelope } from './envelope';
import { deadLetter } from './dead-letters';
import { contextFromCarrier, inSpan } from '../telemetry/propagation';
import { withCorrelationId } from '../telemetry/correlation';
import { Attr, MESSAGING_SYSTEM, SpanNames } from '../telemetry/names';
import { backoff } from '../wakeup';
import { LeaseLostError, type PartitionOwnership } from './partition-leases';
import { DuplicateDeliveryError, isDeferredWriteError } from '../store/write-buffer';

/** Handles one message inside the transaction that also records it in the inbox. */
export type MessageHandler = (message: Envelope, tx: Tx, delivery: Delivery) => Promise<void>;

export interface Delivery {
  /** 1 on the first try. */
  attempt: number;
  streamKey: string;
  entryId: string;
  /**
   * Runs `fn` once the handler's transaction has committed (e.g. queue a BullMQ job that
   * reads what the transaction wrote). Not run if it rolls back; lost if the process dies
   * right after the commit, so what it does must also be reachable by a retry of the
   * business step (a saga deadline re-sending the command).
   */
  afterCommit(fn: () => Promise<void>): void;
}

export interface ConsumerOptions {
  /** Consumer group; also the inbox key, so it must be stable across deployments. */
  group: string;
  topics: string[];
  handler: MessageHandler;
  batchSize: number;
  blockMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  claimIdleMs: number;
  /**
   * Partition ownership (leases with fencing tokens): the consumer reads only the partitions
   * it owns and checks the token in every transaction. Without it, it reads every partition.
   */
  ownership?: PartitionOwnership;
  consumerName?: string;
  /** Message types the handler wants; others are acknowledged without a transaction. */
  accepts?: (type: string) => boolean;
  /** Called after each commit (the handlers may have written outbox rows: wake the relays). */
  onCommitted?: () => void;
}

interface Entry {
  key: string;
  id: string;
  message?: Envelope;
  /** Set when the entry's type field says the group does not handle it: not parsed, only acknowledged. */
  skip?: true;
  /** Set when the entry cannot be parsed: it goes straight to the dead letters. */
  malformed?: string;
}

type StreamReply = [key: string, entries: [id: string, fields: string[]][]][] | null;

const INBOX_SQL = `INSERT INTO inbox (consumer, message_id) SELECT ?, unnest(?::uuid[]) ON CONFLICT DO NOTHING RETURNING message_id`;
const FENCED_INBOX_SQL = `
  WITH fence AS (SELECT token::int AS token FROM partition_owners WHERE consumer = $1 AND partition = $2 FOR SHARE),
  ins AS (
    INSERT INTO inbox (consumer, message_id)
    SELECT $1, unnest($3::uuid[]) WHERE (SELECT token FROM fence) = $4
    ON CONFLICT DO NOTHING RETURNING message_id
  )
  SELECT (SELECT token FROM fence) AS token, (SELECT array_agg(message_id)::text[] FROM ins) AS fresh`;

const actorKey = (m: Envelope) => `${m.actor.type}:${m.actor.id}`;
type AfterCommit = () => Promise<void>;
const MAX_CONFLICT_RETRIES = 3;

/**
 * Reads a consumer group over every partition stream of its topics and hands each
 * message to the handler exactly once in effect:
 *
 * - a batch of one partition runs in ONE transaction: inbox rows (dedupe), the handler's
 *   writes and its outbox rows; XACK only after the commit;
 * - if the batch fails, its messages are retried one per transaction, so one bad message
 *   does not hold back the others;
 * - a failing message stays pending and is retried with exponential backoff; later
 *   messages of the same actor wait behind it (per-actor order), other actors go on;
 * - after `maxAttempts` it is parked in the dead-letter stream with its error;
 * - entries left pending by a dead consumer are claimed after `claimIdleMs` (XAUTOCLAIM).
 */
export class StreamConsumer {
  readonly name: string;
  private running = false;
  private loop?: Promise<void>;
  /** Actors whose oldest pending message failed, with the entry id that blocks them. */
  private readonly blocked = new Map<string, string>();
  /** Entry id -> earliest time of its next attempt. */
  private readonly retryAt = new Map<string, number>();
  private pendingDue = 0;
  private blockingClientId?: number;
  /** A blocking read is in flight (CLIENT UNBLOCK can cut it short). */
  private blockedReading = false;
  /** Won partitions to claim once more (at `at`): entries their old owner read just before it gave them back. */
  private reclaim?: { partitions: number[]; at: number };
  private lastClaim = 0;
  /** Messages handled (committed) since start. */
  handled = 0;
  /** Batches that failed as a whole and were retried one message per transaction, since start. */
  batchesSplit = 0;
  /**
   * Per partition since start: messages handled (committed and acknowledged), failed
   * attempts, messages dead-lettered. Plain numbers, read by the metrics at scrape time.
   */
  readonly counts: { handled: number[]; failed: number[]; deadLettered: number[] };

  /** The consumer group. */
  get group(): string {
    return this.options.group;
  }

  /** The topics it reads. */
  get topics(): string[] {
    return this.options.topics;
  }

  constructor(
    private readonly db: Db,
    private readonly redis: Redis,
    private readonly blockingRedis: Redis,
    private readonly topology: Topology,
    private readonly options: ConsumerOptions,
    private readonly log: Logger,
  ) {
    this.allPartitions = Array.from({ length: topology.partitions }, (_, p) => p);
    const zeros = () => new Array<number>(topology.partitions).fill(0);
    this.counts = { handled: zeros(), failed: zeros(), deadLettered: zeros() };
    this.name = options.consumerName ?? `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  }

  private readonly allPartitions: readonly number[];
  private keysCache: { partitions: readonly number[]; keys: string[] } = { partitions: [], keys: [] };

  /** Stream keys of the partitions this consumer reads now (recomputed only when ownership changes). */
  private keys(): string[] {
    const partitions = this.options.ownership?.owned() ?? this.allPartitions;
    if (partitions !== this.keysCache.partitions) this.keysCache = { partitions, keys: this.keysOf(partitions) };
    return this.keysCache.keys;
  }

  private keysOf(partitions: readonly number[]): string[] {
    return this.options.topics.flatMap((t) => partitions.map((p) => this.topology.streamKey(t, p)));
  }

  private groupsEnsured = false;

  /** Creates the group on every partition stream (owned or not: ownership moves). */
  async ensureGroups(): Promise<void> {
    // One round trip for all of them; a group that exists already answers BUSYGROUP.
    const pipeline = this.redis.pipeline();
    for (const key of this.keysOf(this.allPartitions)) pipeline.xgroup('CREATE', key, this.options.group, '0', 'MKSTREAM');
    for (const [err] of (await pipeline.exec()) ?? []) {
      if (err && !String(err.message).includes('BUSYGROUP')) throw err;
    }
    this.groupsEnsured = true;
  }

  /** Starts reading (creating the groups first unless {@link ensureGroups} already ran). */
  async start(): Promise<void> {
    if (!this.groupsEnsured) await this.ensureGroups();
    // The id CLIENT UNBLOCK needs; a reconnection (Redis restarted) gives the connection a new one.
    const learnId = async () => void (this.blockingClientId = Number(await this.blockingRedis.client('ID')));
    await learnId();
    this.blockingRedis.on('ready', () => void learnId().catch(() => undefined));
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
  }

  /** Cuts a blocking read short (it returns nothing); the next round reads the current partitions. */
  async interruptRead(): Promise<void> {
    if (this.blockedReading && this.blockingClientId !== undefined) await this.redis.client('UNBLOCK', this.blockingClientId).catch(() => undefined);
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
    if (this.reclaim && now >= this.reclaim.at) {
      const { partitions } = this.reclaim;
      this.reclaim = undefined;
      await this.adopt(partitions, false);
    }
    if (now - this.lastClaim >= Math.min(this.options.claimIdleMs, 5_000)) {
      this.lastClaim = now;
      await this.claimAbandoned();
    }
    const keys = this.keys();
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
      reply = (await this.redis.xreadgroup(
        'GROUP', this.options.group, this.name, 'COUNT', page,
        'STREAMS', ...keys, ...keys.map(() => '0'),
      )) as StreamReply;
      fullPage = reply?.some(([, e]) => e.length >= page) ?? false;
    } else {
      const block = this.pendingDue ? Math.max(1, Math.min(this.options.blockMs, this.pendingDue - now)) : this.options.blockMs;
      this.blockedReading = true;
      try {
        reply = (await this.blockingRedis.xreadgroup(
          'GROUP', this.options.group, this.name, 'COUNT', this.options.batchSize, 'BLOCK', block,
          'STREAMS', ...keys, ...keys.map(() => '>'),
        )) as StreamReply;
      } finally {
        this.blockedReading = false;
      }
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
    const settled = await Promise.allSettled([...byPartition].map(([partition, batch]) => this.handlePartition(partition, batch)));
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const acked = settled.reduce((a, r) => a + (r as PromiseFulfilledResult<number>).value, 0);
    // More pending entries may wait behind a full page: next page now if this one moved.
    if (fullPage) this.schedulePending(acked > 0 ? Date.now() : Date.now() + this.options.retryBaseMs);
    return acked;
  }

  /** Handles one partition's entries in stream order; returns how many were acknowledged. */
  private readonly partitionByKey = new Map<string, number>();
  private partitionOfKey(key: string): number {
    let p = this.partitionByKey.get(key);
    if (p === undefined) this.partitionByKey.set(key, (p = this.topology.parseStreamKey(key).partition));
    return p;
  }

  /** Handles one partition's entries (of all topics) in the order read; returns how many were acknowledged. */
  private async handlePartition(partition: number, all: Entry[]): Promise<number> {
    const now = Date.now();
    // Messages of types this group does not handle need no transaction and no inbox row.
    const accepts = this.options.accepts;
    let entries = all;
    const skipped: Entry[] = [];
    if (accepts) {
      entries = [];
      for (const e of all) (e.skip || (e.message && !accepts(e.message.type)) ? skipped : entries).push(e);
    }
    if (skipped.length) {
      await this.ackOnly(skipped);
      this.handled += skipped.length;
    }
    const runnable: Entry[] = [];
    const blockedHere = new Set<string>();
    for (const e of entries) {
      if (e.malformed || !e.message) {
        runnable.push(e);
        continue;
      }
      const actor = actorKey(e.message);
      if (blockedHere.has(actor)) continue;
      const blocker = this.blocked.get(actor);
      if (blocker && blocker !== e.id) {
        // A failing earlier message of this actor holds it back; keep this one pending.
        blockedHere.add(actor);
        this.schedulePending(now + this.options.retryBaseMs);
        continue;
      }
      const due = this.retryAt.get(e.id);
      if (due && due > now) {
        blockedHere.add(actor);
        this.schedulePending(due);
        continue;
      }
      runnable.push(e);
    }
    if (runnable.length === 0) return 0;

    const malformed = runnable.filter((e) => e.malformed);
    for (const e of malformed) {
      await deadLetter(this.redis, this.topology, this.options.group, e.key, e.id, e.malformed!, 1, undefined);
      this.counts.deadLettered[partition]++;
    }
    const good = runnable.filter((e) => !e.malformed);
    if (good.length === 0) return malformed.length;

    const firstTry = good.every((e) => !this.retryAt.has(e.id));
    const culprit: { entry?: Entry; err?: Error } = {};
    if (firstTry) {
      // Optimistic first: the inbox rows go with the batch's other writes in one statement,
      // and a message handled before fails it; then the batch is redone with the inbox first.
      for (const mode of ['optimistic', 'inbox-first'] as const) {
        try {
          const after: AfterCommit[] = [];
          await this.db.transaction((tx) => this.handleInTx(tx, partition, good, after, mode, culprit));
          this.options.onCommitted?.();
          await this.ack(good);
          await this.runAfterCommit(after);
          return good.length + malformed.length;
        } catch (err) {
          if (mode === 'optimistic' && err instanceof DuplicateDeliveryError) continue;
          if (err instanceof LeaseLostError) return this.leaseLost(err, malformed.length);
          // Postgres is away: not the messages' fault. No attempt is counted; they stay pending
          // and the loop backs off until it is back.
          if (err instanceof ServiceUnavailableError) throw err;
          // The handler that threw had its attempt: count it, instead of calling it once more
          // than maxAttempts. Conflicts are retried as usual; the others were rolled back, not tried.
          if (culprit.entry && !(err instanceof ConcurrencyError) && (err as { code?: string }).code !== '25P02') culprit.err = err as Error;
          this.log.debug({ err: (err as Error).message }, 'batch failed; retrying one by one');
          this.batchesSplit++;
          break;
        }
      }
    }
    let acked = malformed.length;
    const failedActors = new Set<string>();
    for (const e of good) {
      const actor = actorKey(e.message!);
      if (failedActors.has(actor)) continue;
      if (culprit.err && culprit.entry === e) {
        await this.recordFailure(e, culprit.err);
        failedActors.add(actor);
      } else {
        const outcome = await this.handleOne(partition, e);
        if (outcome === 'handled') acked++;
        else if (outcome === 'failed') failedActors.add(actor);
        else return acked;
      }
    }
    return acked;
  }

  /** The partition has a newer owner: its entries stay pending for it; no attempt is counted. */
  private leaseLost(err: LeaseLostError, acked: number): number {
    this.options.ownership?.lost(err.partition);
    return acked;
  }

  private async handleOne(partition: number, e: Entry): Promise<'handled' | 'failed' | 'lease-lost'> {
    for (let conflict = 0; ; conflict++) {
      try {
        const after: AfterCommit[] = [];
        await this.db.transaction((tx) => this.handleInTx(tx, partition, [e], after, 'inbox-first'));
        this.options.onCommitted?.();
        await this.ack([e]);
        await this.runAfterCommit(after);
        return 'handled';
      } catch (err) {
        if (err instanceof LeaseLostError) {
          this.leaseLost(err, 0);
          return 'lease-lost';
        }
        if (err instanceof ServiceUnavailableError) throw err; // see handlePartition
        if (err instanceof ConcurrencyError && conflict < MAX_CONFLICT_RETRIES) continue;
        await this.recordFailure(e, err as Error);
        return 'failed';
      }
    }
  }

  private async runAfterCommit(fns: AfterCommit[]): Promise<void> {
    if (fns.length === 0) return;
    const results = await Promise.allSettled(fns.map((fn) => fn()));
    for (const r of results) {
      if (r.status === 'rejected') this.log.warn({ err: (r.reason as Error)?.message }, 'after-commit action failed; the step is retried by its deadline');
    }
  }

  /**
   * Runs the handlers of `entries` in `tx`. `optimistic`: the inbox rows (and the fence) are
   * written with the handlers' writes at the end, and a message handled before fails the
   * transaction (DuplicateDeliveryError); `inbox-first`: they are written first and the
   * messages handled before are skipped. `failed.entry` is set to the entry whose handler threw.
   */
  private async handleInTx(tx: Tx, partition: number, entries: Entry[], after: AfterCommit[], mode: 'optimistic' | 'inbox-first', failed?: { entry?: Entry }): Promise<void> {
    writesOf(tx).optimistic = true;
    const ids = entries.map((e) => e.message!.id);
    const fresh = mode === 'optimistic' ? this.deliverLater(tx, partition, ids) : await this.recordInInbox(tx, partition, ids);
    for (const e of entries) {
      const m = e.message!;
      // Delivered before (or twice in this batch): its effect is committed or on its way.
      if (!fresh.delete(m.id)) continue;
      const destination = this.destinationOf(e.key);
      const attempt = (this.attemptsSeen.get(e.id) ?? 0) + 1;
      // The correlation id rides in the context so that the handler's log lines name it.
      await inSpan(SpanNames.process(destination), { kind: SpanKind.CONSUMER, parent: withCorrelationId(contextFromCarrier(m), m.correlationId) }, async (span) => {
        // Attributes only for a span that records: no allocation per message when tracing is off.
        if (span.isRecording()) {
          span.setAttributes({
            [Attr.messagingSystem]: MESSAGING_SYSTEM,
            [Attr.messagingOperation]: 'process',
            [Attr.messagingDestination]: destination,
            [Attr.messagingConsumerGroup]: this.options.group,
            [Attr.messagingMessageId]: m.id,
            [Attr.messageType]: m.type,
            [Attr.actorType]: m.actor.type,
            [Attr.actorId]: m.actor.id,
            [Attr.correlationId]: m.correlationId,
            [Attr.messagingDeliveryAttempt]: attempt,
          });
        }
        try {
          await this.options.handler(m, tx, { attempt, streamKey: e.key, entryId: e.id, afterCommit: (fn) => after.push(fn) });
        } catch (err) {
          // A failed flush of earlier handlers' writes is not this handler's fault.
          if (failed && !isDeferredWriteError(err)) failed.entry = e;
          throw err;
        }
      });
    }
  }

  /**
   * The optimistic inbox: the batch's distinct message ids, recorded in the transaction's
   * write buffer with the partition's fence; both are written (and checked) by its one statement.
   */
  private deliverLater(tx: Tx, partition: number, ids: string[]): Set<string> {
    const fresh = new Set(ids);
    const ownership = this.options.ownership;
    let fence;
    if (ownership) {
      const token = ownership.tokenOf(partition);
      if (token === undefined) throw new LeaseLostError(this.options.group, partition);
      fence = { consumer: this.options.group, partition, token, lost: () => new LeaseLostError(this.options.group, partition) };
    }
    writesOf(tx).deliver({ consumer: this.options.group, messageIds: [...fresh] }, fence);
    return fresh;
  }

  /**
   * Inserts the batch's inbox rows and returns the ids not seen before. With ownership, the
   * same statement checks the partition's fencing token under a FOR SHARE lock (a new owner's
   * token update waits for this transaction), so a stale owner writes nothing.
   */
  private async recordInInbox(tx: Tx, partition: number, ids: string[]): Promise<Set<string>> {
    const ownership = this.options.ownership;
    if (!ownership) {
      const { rows } = await tx.raw<{ rows: { message_id: string }[] }>(INBOX_SQL, [this.options.group, ids]);
      return new Set(rows.map((r) => r.message_id));
    }
    const token = ownership.tokenOf(partition);
    if (token === undefined) throw new LeaseLostError(this.options.group, partition);
    const { rows } = await tx.raw<{ rows: { token: number | null; fresh: string[] | null }[] }>(FENCED_INBOX_SQL, [this.options.group, partition, ids, token]);
    if (rows[0].token !== token) throw new LeaseLostError(this.options.group, partition);
    return new Set(rows[0].fresh ?? []);
  }

  /**
   * Takes over every pending entry of these partitions at once (their old owner is fenced
   * off), and once more a read's length later: the old owner's last blocking read may still
   * deliver entries of these partitions to it after this claim, and it cannot commit them.
   */
  async adopt(partitions: number[], again = true): Promise<void> {
    for (const key of this.keysOf(partitions)) await this.claim(key, 0);
    this.schedulePending(Date.now());
    if (again) {
      const at = Date.now() + this.options.blockMs + 500;
      this.reclaim = { partitions: [...new Set([...(this.reclaim?.partitions ?? []), ...partitions])], at };
      this.schedulePending(at);
    }
  }

  private readonly attemptsSeen = new Map<string, number>();

  private readonly destinations = new Map<string, string>();
  private destinationOf(key: string): string {
    let d = this.destinations.get(key);
    if (!d) {
      const { topic, partition } = this.topology.parseStreamKey(key);
      this.destinations.set(key, (d = this.topology.destination(topic, partition)));
    }
    return d;
  }

  /** XACK grouped by stream key, in one round trip. */
  private async ackOnly(entries: Entry[], extra?: (multi: ReturnType<Redis['multi']>) => void): Promise<void> {
    const byKey = new Map<string, string[]>();
    for (const e of entries) {
      let ids = byKey.get(e.key);
      if (!ids) byKey.set(e.key, (ids = []));
      ids.push(e.id);
    }
    const multi = this.redis.multi();
    for (const [key, ids] of byKey) multi.xack(key, this.options.group, ...ids);
    extra?.(multi);
    await multi.exec();
  }

  private async ack(entries: Entry[]): Promise<void> {
    const ids = entries.map((e) => e.id);
    const hadFailures = ids.filter((id) => this.retryAt.has(id));
    await this.ackOnly(entries, (multi) => {
      if (hadFailures.length) multi.hdel(this.topology.attemptsKey(this.options.group), ...hadFailures);
    });
    this.handled += entries.length;
    if (entries.length) this.counts.handled[this.partitionOfKey(entries[0].key)] += entries.length;
    for (const id of hadFailures) this.retryAt.delete(id);
    for (const id of ids) this.attemptsSeen.delete(id);
    for (const e of entries) this.unblock(e);
  }

  private unblock(e: Entry): void {
    if (!e.message) return;
    const actor = actorKey(e.message);
    if (this.blocked.get(actor) === e.id) {
      this.blocked.delete(actor);
      // Messages of this actor that waited behind it are pending: pick them up now.
      this.schedulePending(Date.now());
    }
  }

  private schedulePending(at: number): void {
    this.pendingDue = this.pendingDue ? Math.min(this.pendingDue, at) : at;
  }

  private async recordFailure(e: Entry, err: Error): Promise<void> {
    // Attempts live in Redis so that a restarted or claiming consumer continues the count.
    const attempts = await this.redis.hincrby(this.topology.attemptsKey(this.options.group), e.id, 1);
    this.attemptsSeen.set(e.id, attempts);
    const m = e.message!;
    const partition = this.partitionOfKey(e.key);
    this.counts.failed[partition]++;
    // The stack once, on the line of the failure, with what finds the message again.
    const about = { messageId: m.id, type: m.type, actor: m.actor, attempt: attempts, correlationId: m.correlationId };
    // Logged in the message's trace context (its trace_id and correlation id on the line).
    const inTrace = withCorrelationId(contextFromCarrier(m), m.correlationId);
    if (attempts >= this.options.maxAttempts) {
      otelContext.with(inTrace, () => this.log.error({ err, ...about }, 'message failed; dead-lettered'));
      this.counts.deadLettered[partition]++;
      await deadLetter(this.redis, this.topology, this.options.group, e.key, e.id, err.message, attempts, m);
      this.retryAt.delete(e.id);
      this.attemptsSeen.delete(e.id);
      this.unblock(e);
      return;
    }
    const delay = backoff(attempts, this.options.retryBaseMs);
    otelContext.with(inTrace, () => this.log.warn({ err, ...about, retryInMs: delay }, 'message failed; will retry'));
    this.blocked.set(actorKey(m), e.id);
    this.retryAt.set(e.id, Date.now() + delay);
    this.schedulePending(Date.now() + delay);
  }

  /** Takes over entries that another consumer of the group left pending too long. */
  async claimAbandoned(): Promise<number> {
    let claimed = 0;
    for (const key of this.keys()) claimed += await this.claim(key, this.options.claimIdleMs);
    if (claimed > 0) this.schedulePending(Date.now());
    return claimed;
  }

  private async claim(key: string, minIdleMs: number): Promise<number> {
    let claimed = 0;
    let cursor = '0-0';
    do {
      const res = (await this.redis.xautoclaim(key, this.options.group, this.name, minIdleMs, cursor, 'COUNT', 100)) as [string, [string, string[]][], string[]?];
      cursor = res[0];
      claimed += res[1].filter(Boolean).length;
    } while (cursor !== '0-0');
    if (claimed > 0) this.log.info({ key, claimed }, 'claimed pending entries');
    return claimed;
  }
}

function parseEntry(key: string, id: string, fields: string[] | null, accepts?: (type: string) => boolean): Entry {
  // A pending entry that was deleted from the stream (trimmed) comes back with no fields.
  if (!fields) return { key, id, malformed: 'entry was trimmed from the stream before it was handled' };
  const type = accepts && entryField(fields, TYPE_FIELD);
  if (type && !accepts(type)) return { key, id, skip: true };
  const json = entryField(fields, MESSAGE_FIELD);
  if (json === undefined) return { key, id, malformed: 'entry has no "m" field' };
  try {
    const message = JSON.parse(json) as Envelope;
    if (!message || typeof message.id !== 'string' || !message.actor || typeof message.type !== 'string') {
      return { key, id, malformed: 'entry is not a message envelope' };
    }
    return { key, id, message };
  } catch (err) {
    return { key, id, malformed: `entry is not JSON: ${(err as Error).message}` };
  }
}
