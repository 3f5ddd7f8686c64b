import { context as otelContext } from '@opentelemetry/api';
import type { Logger } from '../logger';
import type { Redis } from './redis';
import type { Topology } from './topology';
import { deadLetter } from './dead-letters';
import { contextFromCarrier } from '../telemetry/propagation';
import { withCorrelationId } from '../telemetry/correlation';
import { backoff } from '../wakeup';
import { actorKey, type Entry } from './consumer-entry';
import type { ConsumerCounts } from './consumer-options';

/**
 * A consumer's retry and dead-letter bookkeeping: a failing message stays pending and is
 * retried with exponential backoff, later messages of its actor wait behind it (per-actor
 * order) while other actors go on, and after `maxAttempts` it is parked in the dead letters.
 * The attempt count lives in Redis, so a restarted or claiming consumer continues it.
 */
export class RetryBook {
  /** Actors whose oldest pending message failed, with the entry id that blocks them. */
  private readonly blocked = new Map<string, string>();
  /** Entry id -> earliest time of its next attempt. */
  private readonly retryAt = new Map<string, number>();
  /** Entry id -> failed attempts so far (as Redis counted them). */
  private readonly attemptsSeen = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly topology: Topology,
    private readonly group: string,
    private readonly settings: { maxAttempts: number; retryBaseMs: number },
    private readonly counts: ConsumerCounts,
    private readonly partitionOf: (key: string) => number,
    /** Asks the read loop to look at the pending entries again at `at`. */
    private readonly schedulePending: (at: number) => void,
    private readonly log: Logger,
  ) {}

  /**
   * Whether `e` must wait (behind a failing earlier message of its actor, or for its own
   * retry time); if so, the pending entries are looked at again when it may run.
   */
  waits(e: Entry, now: number): boolean {
    const blocker = this.blocked.get(actorKey(e.message!));
    if (blocker && blocker !== e.id) {
      this.schedulePending(now + this.settings.retryBaseMs);
      return true;
    }
    const due = this.retryAt.get(e.id);
    if (due && due > now) {
      this.schedulePending(due);
      return true;
    }
    return false;
  }

  /** Whether the entry failed before (it is being retried). */
  failedBefore(id: string): boolean {
    return this.retryAt.has(id);
  }

  /** The attempt the next handling of the entry is (1 on the first try). */
  attemptOf(id: string): number {
    return (this.attemptsSeen.get(id) ?? 0) + 1;
  }

  /** The Redis hash of a partition's attempt counts (its fields are deleted with the acknowledgement). */
  attemptsKey(partition: number): string {
    return this.topology.attemptsKey(this.group, partition);
  }

  /** Forgets acknowledged entries, and lets the messages that waited behind them run. */
  acknowledged(entries: Entry[]): void {
    for (const e of entries) {
      this.retryAt.delete(e.id);
      this.attemptsSeen.delete(e.id);
      this.unblock(e);
    }
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

  /** Counts a failed attempt of `e`: schedules its retry, or parks it in the dead letters after the last. */
  async failed(e: Entry, err: Error): Promise<void> {
    // Attempts live in Redis so that a restarted or claiming consumer continues the count.
    const partition = this.partitionOf(e.key);
    const attempts = await this.redis.hincrby(this.attemptsKey(partition), e.id, 1);
    this.attemptsSeen.set(e.id, attempts);
    const m = e.message!;
    this.counts.failed[partition]++;
    // The stack once, on the line of the failure, with what finds the message again.
    const about = { messageId: m.id, type: m.type, actor: m.actor, attempt: attempts, correlationId: m.correlationId };
    // Logged in the message's trace context (its trace_id and correlation id on the line).
    const inTrace = withCorrelationId(contextFromCarrier(m), m.correlationId);
    if (attempts >= this.settings.maxAttempts) {
      otelContext.with(inTrace, () => this.log.error({ err, ...about }, 'message failed; dead-lettered'));
      this.counts.deadLettered[partition]++;
      await deadLetter(this.redis, this.topology, this.group, e.key, e.id, err.message, attempts, m);
      this.retryAt.delete(e.id);
      this.attemptsSeen.delete(e.id);
      this.unblock(e);
      return;
    }
    const delay = backoff(attempts, this.settings.retryBaseMs);
    otelContext.with(inTrace, () => this.log.warn({ err, ...about, retryInMs: delay }, 'message failed; will retry'));
    this.blocked.set(actorKey(m), e.id);
    this.retryAt.set(e.id, Date.now() + delay);
    this.schedulePending(Date.now() + delay);
  }

  /** Parks an entry that cannot be parsed, on its first sight. */
  async malformed(e: Entry): Promise<void> {
    await deadLetter(this.redis, this.topology, this.group, e.key, e.id, e.malformed!, 1, undefined);
    this.counts.deadLettered[this.partitionOf(e.key)]++;
  }
}
