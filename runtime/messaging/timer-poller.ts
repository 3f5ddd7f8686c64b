import type { Db } from '../store/database';
import { enqueueMessages } from '../store/event-store';
import { takeDueTimers, TIMER_FIRED } from '../store/timers';
import type { Logger } from '../logger';
import type { Topology } from './topology';
import { envelope } from './envelope';
import type { OutboxSignal } from './outbox-signal';
import { Wakeup, backoff } from '../wakeup';

/**
 * Turns due timers into `TIMER_FIRED` messages. The timer is re-armed and its message written
 * to the outbox in one transaction; it lives in Postgres until its actor moves or cancels it,
 * so a deadline survives restarts of every process and the loss of Redis data.
 */
export class TimerPoller {
  private readonly wakeup = new Wakeup();
  private running = false;
  private loop?: Promise<void>;
  fired = 0;

  constructor(
    private readonly db: Db,
    private readonly topology: Topology,
    private readonly pollMs: number,
    private readonly rearmMs: number,
    private readonly log: Logger,
    private readonly signal?: OutboxSignal,
  ) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wakeup.wake();
    await this.loop;
  }

  /** Fires one batch of due timers; returns how many. */
  async fireDue(limit = 200): Promise<number> {
    const fired = await this.db.transaction(async (tx) => {
      const due = await takeDueTimers(tx, limit, this.rearmMs);
      if (due.length === 0) return 0;
      const occurredAt = new Date().toISOString();
      await enqueueMessages(
        tx,
        due.map((t) => ({
          topic: t.topic,
          partition: this.topology.partitionOf(t.actor_id),
          // A timer starts its own causation chain, in the trace and correlation of what scheduled it.
          message: envelope(
            { type: TIMER_FIRED, stream: t.topic, actor: { type: t.actor_type, id: t.actor_id }, data: { ...t.data, name: t.name } },
            { correlationId: t.correlation_id, traceparent: t.traceparent ?? undefined, tracestate: t.tracestate ?? undefined, occurredAt },
          ),
        })),
      );
      this.fired += due.length;
      return due.length;
    });
    if (fired > 0) this.signal?.committed();
    return fired;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        const n = await this.fireDue();
        failures = 0;
        if (n > 0) continue;
        await this.wakeup.wait(this.pollMs);
      } catch (err) {
        failures++;
        this.log.warn({ err: (err as Error).message }, 'timer poll failed');
        await this.wakeup.wait(backoff(failures, 100, 5_000));
      }
    }
  }
}
