import type { Queryable } from '../../../store/database';
import { eventsAfter, gapIsSettled, maxPosition, positionsAfter, type LogEvent } from '../../../store/event-log-queries';
import type { Logger } from '../../../logger';
import { Wakeup, backoff } from '../../../wakeup';

/** A reader of the live feed: gets every settled event after the head it joined at, in position order. */
export interface FeedSubscriber {
  deliver(events: readonly LogEvent[]): void;
  /** The process is stopping: end the stream now. */
  close(): void;
}

export interface EventFeedOptions {
  pollMs: number;
  /** A missing position older than this is taken as rolled back even if old transactions are still open. */
  gapMs: number;
  batchSize?: number;
}

/** An open gap in the positions: where it starts, when it was first seen (database clock) and since when (local). */
interface Gap {
  start: number;
  seenAt: string;
  since: number;
}

/**
 * One poller per process over the committed event log, feeding every connected stream client:
 * a query per poll interval, not per client, and none while no client is connected.
 *
 * Positions come from a bigserial, so they are allocated in order but committed in any order:
 * a transaction still open may hold a position below rows already visible, and a rolled-back
 * one leaves a hole forever. A cursor that simply moved past the highest visible position
 * would skip the late one. So the feed delivers only up to the first missing position, and
 * passes a hole only once it is settled: either no transaction that began before the hole
 * was first seen is still open (`pg_stat_activity`: the transaction that allocated the missing
 * position must have begun before the later position committed, so if none remains it rolled
 * back; usually decided on the first poll that sees the hole), or the hole is older than
 * `gapMs` (an unrelated long transaction, or sessions the role may not inspect, would
 * otherwise stall the feed). The second rule can skip an event whose transaction held its
 * position open longer than `gapMs`; we chose bounded latency over that case (commands and
 * consumer batches commit within the HTTP timeout and far faster in practice). Why not the
 * xmin horizon: the events table stores no transaction id, and a transaction can allocate its
 * position before it is assigned an xid, so the snapshot's xmin does not cover it.
 */
export class EventFeed {
  private readonly subscribers = new Set<FeedSubscriber>();
  private readonly wakeup = new Wakeup();
  private state: 'idle' | 'running' | 'closed' = 'idle';
  private starting?: Promise<void>;
  private gap?: Gap;
  /** The last position delivered: every position up to it is delivered or settled as a hole. */
  head = 0;
  /** Polls run since the process started (for tests: one query per interval, whatever the clients). */
  polls = 0;
  /** Positions passed as rolled back. */
  holesSkipped = 0;

  constructor(
    private readonly db: Queryable,
    private readonly options: EventFeedOptions,
    private readonly log: Logger,
  ) {}

  get clients(): number {
    return this.subscribers.size;
  }

  /**
   * Adds a subscriber and returns the head it joins at: it receives every settled event after
   * that head. Starts the poller if it was idle (finding the settled head of the log first).
   */
  async join(subscriber: FeedSubscriber): Promise<number> {
    if (this.state === 'closed') throw new Error('The event feed is closed');
    if (this.state === 'idle') {
      this.starting ??= this.start().finally(() => (this.starting = undefined));
      await this.starting;
    } else if (this.starting) await this.starting;
    if ((this.state as string) === 'closed') throw new Error('The event feed is closed');
    this.subscribers.add(subscriber);
    return this.head;
  }

  leave(subscriber: FeedSubscriber): void {
    this.subscribers.delete(subscriber);
  }

  /** Ends every stream and stops polling (the process is stopping). */
  close(): void {
    this.state = 'closed';
    this.wakeup.wake();
    for (const s of [...this.subscribers]) s.close();
    this.subscribers.clear();
  }

  private async start(): Promise<void> {
    this.head = await this.settledHead();
    this.gap = undefined;
    if ((this.state as string) === 'closed') return;
    this.state = 'running';
    void this.run();
  }

  /** The highest position below which nothing can still commit (looked for among the last 1000). */
  private async settledHead(): Promise<number> {
    const max = await maxPosition(this.db);
    const from = Math.max(0, max - 1000);
    const { positions, seenAt } = await positionsAfter(this.db, from, 2000);
    let expected = from + 1;
    let settled: boolean | undefined; // one answer for every hole: they were all seen at `seenAt`
    for (const p of positions) {
      if (p !== expected && !(settled ??= await gapIsSettled(this.db, seenAt))) return expected - 1;
      expected = p + 1;
    }
    return expected - 1;
  }

  private async run(): Promise<void> {
    let failures = 0;
    // The first subscriber is added once start() has returned: look for none only after a poll.
    while (this.state === 'running') {
      try {
        const delivered = await this.poll();
        failures = 0;
        if (delivered < (this.options.batchSize ?? 1000)) await this.wakeup.wait(this.options.pollMs);
      } catch (err) {
        failures++;
        this.log.warn({ err: (err as Error).message }, 'event stream poll failed');
        await this.wakeup.wait(backoff(failures, this.options.pollMs, 5_000));
      }
      if (this.state === 'running' && this.subscribers.size === 0) this.state = 'idle';
    }
  }

  /** One poll: reads after the head, delivers up to the first unsettled hole; returns how many it delivered. */
  async poll(): Promise<number> {
    this.polls++;
    const batch = this.options.batchSize ?? 1000;
    const { events, seenAt } = await eventsAfter(this.db, this.head, batch);
    const out: LogEvent[] = [];
    let expected = this.head + 1;
    for (const e of events) {
      if (e.position !== expected) {
        if (this.gap?.start !== expected) this.gap = { start: expected, seenAt, since: Date.now() };
        const settled = Date.now() - this.gap.since >= this.options.gapMs || (await gapIsSettled(this.db, this.gap.seenAt));
        if (!settled) break;
        this.holesSkipped += e.position - expected;
        this.gap = undefined;
      }
      out.push(e);
      expected = e.position + 1;
    }
    if (this.state !== 'running') return 0;
    this.head = expected - 1;
    if (out.length) for (const s of [...this.subscribers]) s.deliver(out);
    return out.length;
  }
}
