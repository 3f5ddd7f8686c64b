import type { Db, Tx } from '../store/database';
import { OUTBOX_CHANNEL } from '../store/event-store';

/**
 * Tells relays that outbox rows were committed: a relay in this process is woken directly;
 * relays in other processes through one NOTIFY per 10 ms window, sent after the commit,
 * unless the relay in this process holds the relay lock (the others stand by then, and
 * ignore signals: the NOTIFY would only cost a statement).
 *
 * Why not NOTIFY inside each transaction: Postgres serializes the commits of notifying
 * transactions on one lock held through the WAL flush, so commits cannot be grouped (the
 * cost is in ops/bench/README.md, "Figures behind the code"). Outside, at most one NOTIFY per window.
 */
export class OutboxSignal {
  /** Each returns whether it will publish the rows itself (a relay holding the lock). */
  private readonly listeners = new Set<() => boolean>();
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly windowMs = 10,
  ) {}

  /** Signals once `tx` has committed (nothing if it rolls back). */
  afterCommit(tx: Tx): void {
    tx.outcome.then(
      () => this.committed(),
      () => undefined,
    );
  }

  committed(): void {
    let publishedHere = false;
    for (const wake of this.listeners) publishedHere = wake() || publishedHere;
    if (publishedHere || this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.db.raw(`SELECT pg_notify('${OUTBOX_CHANNEL}', '')`).catch(() => undefined); // relays also poll
    }, this.windowMs);
  }

  onCommitted(wake: () => boolean): () => void {
    this.listeners.add(wake);
    return () => this.listeners.delete(wake);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }
}
