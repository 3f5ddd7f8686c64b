import type { Tx } from '../store/database';
import { enqueueMessages, type OutboxMessage } from '../store/event-store';
import { cancelTimers, scheduleTimers, type TimerRequest } from '../store/timers';
import type { ActorRef } from './envelope';

const key = (actor: ActorRef, name: string) => `${actor.type}\u0000${actor.id}\u0000${name}`;

/**
 * What the reactions of one consumer transaction send and schedule, written together just
 * before it commits: one outbox INSERT and at most two timer statements per batch instead of
 * one of each per message. The effect is the same: all of it commits with the batch or not.
 */
export class PendingWrites {
  private readonly outbox: OutboxMessage[] = [];
  /** Last request per timer wins: a schedule, or null for a cancel. */
  private readonly timers = new Map<string, { actor: ActorRef; name: string; request: TimerRequest | null }>();

  send(messages: OutboxMessage[]): void {
    this.outbox.push(...messages);
  }

  schedule(request: TimerRequest): void {
    this.timers.set(key(request.actor, request.name), { actor: request.actor, name: request.name, request });
  }

  cancel(actor: ActorRef, name: string): void {
    this.timers.set(key(actor, name), { actor, name, request: null });
  }

  async flush(tx: Tx): Promise<void> {
    const all = [...this.timers.values()];
    await enqueueMessages(tx, this.outbox);
    await cancelTimers(tx, all.filter((t) => t.request === null));
    await scheduleTimers(tx, all.flatMap((t) => (t.request ? [t.request] : [])));
    this.outbox.length = 0;
    this.timers.clear();
  }
}

/** The pending writes of each open transaction. */
export class PendingWritesByTx {
  private readonly byTx = new WeakMap<Tx, PendingWrites>();

  of(tx: Tx): PendingWrites {
    let w = this.byTx.get(tx);
    if (!w) this.byTx.set(tx, (w = new PendingWrites()));
    return w;
  }

  /** Writes what `tx` has pending; called by the consumer just before the commit. */
  async flush(tx: Tx): Promise<void> {
    const w = this.byTx.get(tx);
    if (w) {
      this.byTx.delete(tx);
      await w.flush(tx);
    }
  }
}
