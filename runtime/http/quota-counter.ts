import { keyedBatch, type Redis } from '../messaging/redis';

/**
 * Fixed-window request counts per client, shared by every web process through Redis, with one
 * Redis round trip per flush interval for all clients instead of one per request.
 *
 * A request is decided at once from what this process knows: the window's total as Redis
 * last answered it (every process's requests), plus what this process counted since and has
 * not yet sent. So one process alone is exact; other processes' requests are seen after at
 * most one flush interval and a round trip, which bounds the overshoot of a client spread over
 * N processes to about N × its rate × (flush interval + round trip). While Redis cannot be
 * reached, counts stay here and are sent again with the next flush: each process still holds
 * the quota for its own share.
 */
export class QuotaCounter {
  private window = -1;
  /** Counted here, not yet sent. */
  private readonly local = new Map<string, number>();
  /** Sent, not yet answered. */
  private readonly sending = new Map<string, number>();
  /** The window's total per client as Redis last answered it. */
  private readonly known = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly points: number,
    private readonly windowMs: number,
    private readonly flushMs = 50,
  ) {}

  /**
   * Counts one request of `client`, or refuses it: 0 when it is within the quota, otherwise
   * the milliseconds until the window ends (and a request is free again).
   */
  take(client: string, now = Date.now()): number {
    const window = Math.floor(now / this.windowMs);
    if (window !== this.window) this.startWindow(window);
    const local = this.local.get(client) ?? 0;
    const seen = (this.known.get(client) ?? 0) + (this.sending.get(client) ?? 0) + local;
    if (seen >= this.points) return (window + 1) * this.windowMs - now;
    this.local.set(client, local + 1);
    this.timer ??= setTimeout(() => void this.flush(), this.flushMs).unref();
    return 0;
  }

  /** Sends what was counted since the last flush, and learns every process's totals back. */
  async flush(): Promise<void> {
    this.timer = undefined;
    if (this.local.size === 0) return;
    const window = this.window;
    const batch = [...this.local];
    this.local.clear();
    const pipeline = keyedBatch(this.redis);
    for (const [client, n] of batch) {
      this.sending.set(client, (this.sending.get(client) ?? 0) + n);
      const key = `${this.keyPrefix}${window}:${client}`;
      pipeline.incrby(key, n);
      pipeline.pexpire(key, this.windowMs * 2);
    }
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await pipeline.exec();
    } catch {
      replies = null;
    }
    if (window !== this.window) return; // the window moved on meanwhile: its counts no longer matter
    batch.forEach(([client, n], i) => {
      this.sending.set(client, (this.sending.get(client) ?? 0) - n);
      const reply = replies?.[i * 2];
      if (reply && !reply[0]) this.known.set(client, Math.max(this.known.get(client) ?? 0, Number(reply[1])));
      // Not delivered: still counted here, and sent again with the next flush.
      else this.local.set(client, (this.local.get(client) ?? 0) + n);
    });
    if (this.local.size) this.timer ??= setTimeout(() => void this.flush(), this.flushMs).unref();
  }

  private startWindow(window: number): void {
    this.window = window;
    this.local.clear();
    this.sending.clear();
    this.known.clear();
  }
}
