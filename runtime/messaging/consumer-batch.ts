import { SpanKind } from '@opentelemetry/api';
import { writesOf, type Db, type Tx } from '../store/database';
import type { Logger } from '../logger';
import { ConcurrencyError, ServiceUnavailableError } from '../errors';
import type { Redis } from './redis';
import type { Topology } from './topology';
import { contextFromCarrier, inSpan } from '../telemetry/propagation';
import { withCorrelationId } from '../telemetry/correlation';
import { Attr, MESSAGING_SYSTEM, SpanNames } from '../telemetry/names';
import { LeaseLostError } from './partition-leases';
import { DuplicateDeliveryError, isDeferredWriteError } from '../store/write-buffer';
import { retryOnConflict } from '../store/retry-on-conflict';
import { actorKey, type Entry } from './consumer-entry';
import { deliverLater, recordInInbox } from './consumer-inbox';
import type { ConsumerCounts, ConsumerOptions } from './consumer-options';
import type { RetryBook } from './consumer-retries';

type AfterCommit = () => Promise<void>;
/** Runs of a message's transaction when it conflicts, before the conflict counts as a failed attempt. */
const CONFLICT_RUNS = 4;

/**
 * How a consumer handles one partition's batch, exactly once in effect:
 *
 * - the batch runs in ONE transaction: inbox rows (dedupe), the handlers' writes and their
 *   outbox rows; XACK only after the commit. Optimistic first (the inbox rows go with the
 *   other writes in one statement), then with the inbox first if a message was handled before;
 * - if the batch fails, its messages are retried one per transaction, so one bad message
 *   does not hold back the others (its failure goes to the {@link RetryBook});
 * - messages of types the group does not handle are acknowledged without a transaction.
 */
export class ConsumerBatches {
  /** Messages handled (committed, or skipped as not wanted) since start. */
  handled = 0;
  /** Batches that failed as a whole and were retried one message per transaction, since start. */
  batchesSplit = 0;
  private readonly destinations = new Map<string, string>();

  constructor(
    private readonly db: Db,
    private readonly redis: Redis,
    private readonly topology: Topology,
    private readonly options: ConsumerOptions,
    private readonly book: RetryBook,
    private readonly counts: ConsumerCounts,
    private readonly partitionOf: (key: string) => number,
    private readonly log: Logger,
  ) {}

  /** Handles one partition's entries (of all topics) in the order read; returns how many were acknowledged. */
  async handle(partition: number, all: Entry[]): Promise<number> {
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
      // A failing earlier message of this actor holds it back, or its own retry is not due: keep it pending.
      if (this.book.waits(e, now)) {
        blockedHere.add(actor);
        continue;
      }
      runnable.push(e);
    }
    if (runnable.length === 0) return 0;

    const malformed = runnable.filter((e) => e.malformed);
    for (const e of malformed) await this.book.malformed(e);
    const good = runnable.filter((e) => !e.malformed);
    if (good.length === 0) return malformed.length;

    const firstTry = good.every((e) => !this.book.failedBefore(e.id));
    const culprit: { entry?: Entry; err?: Error } = {};
    if (firstTry) {
      // Optimistic first: the inbox rows go with the batch's other writes in one statement,
      // and a message handled before fails it; then the batch is redone with the inbox first.
      for (const mode of ['optimistic', 'inbox-first'] as const) {
        try {
          await this.commit(partition, good, mode, culprit);
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
        await this.book.failed(e, culprit.err);
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

  /** One message in its own transaction, run again on a conflict. */
  private async handleOne(partition: number, e: Entry): Promise<'handled' | 'failed' | 'lease-lost'> {
    try {
      await retryOnConflict(() => this.commit(partition, [e], 'inbox-first'), CONFLICT_RUNS);
      return 'handled';
    } catch (err) {
      if (err instanceof LeaseLostError) {
        this.leaseLost(err, 0);
        return 'lease-lost';
      }
      if (err instanceof ServiceUnavailableError) throw err; // see handle
      await this.book.failed(e, err as Error);
      return 'failed';
    }
  }

  /** Handles `entries` in one transaction, then acknowledges them and runs their after-commit actions. */
  private async commit(partition: number, entries: Entry[], mode: 'optimistic' | 'inbox-first', culprit?: { entry?: Entry }): Promise<void> {
    const after: AfterCommit[] = [];
    await this.db.transaction((tx) => this.handleInTx(tx, partition, entries, after, mode, culprit));
    this.options.onCommitted?.();
    await this.ack(entries);
    await this.runAfterCommit(after);
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
    const { group, ownership } = this.options;
    const ids = entries.map((e) => e.message!.id);
    const fresh = mode === 'optimistic' ? deliverLater(tx, group, partition, ids, ownership) : await recordInInbox(tx, group, partition, ids, ownership);
    for (const e of entries) {
      const m = e.message!;
      // Delivered before (or twice in this batch): its effect is committed or on its way.
      if (!fresh.delete(m.id)) continue;
      const destination = this.destinationOf(e.key);
      const attempt = this.book.attemptOf(e.id);
      // The correlation id rides in the context so that the handler's log lines name it.
      await inSpan(SpanNames.process(destination), { kind: SpanKind.CONSUMER, parent: withCorrelationId(contextFromCarrier(m), m.correlationId) }, async (span) => {
        // Attributes only for a span that records: no allocation per message when tracing is off.
        if (span.isRecording()) {
          span.setAttributes({
            [Attr.messagingSystem]: MESSAGING_SYSTEM,
            [Attr.messagingOperation]: 'process',
            [Attr.messagingDestination]: destination,
            [Attr.messagingConsumerGroup]: group,
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

  /** Acknowledges handled entries, with their attempt counts deleted in the same round trip. */
  private async ack(entries: Entry[]): Promise<void> {
    const hadFailures = entries.filter((e) => this.book.failedBefore(e.id)).map((e) => e.id);
    await this.ackOnly(entries, (multi) => {
      // One partition's entries: its streams and attempt counters share a slot.
      if (hadFailures.length) multi.hdel(this.book.attemptsKey(this.partitionOf(entries[0].key)), ...hadFailures);
    });
    this.handled += entries.length;
    if (entries.length) this.counts.handled[this.partitionOf(entries[0].key)] += entries.length;
    this.book.acknowledged(entries);
  }
}
