/**
 * A sleep that can be cut short: loops wait on it between polls, and a notification
 * (LISTEN/NOTIFY, shutdown) wakes them at once.
 */
export class Wakeup {
  private resolve?: () => void;
  private timer?: NodeJS.Timeout;
  private pending = false;

  wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.timer = setTimeout(() => this.fire(), ms);
    });
  }

  /** Wakes the current waiter, or makes the next wait return at once. */
  wake(): void {
    if (this.resolve) this.fire();
    else this.pending = true;
  }

  private fire(): void {
    clearTimeout(this.timer);
    const r = this.resolve;
    this.resolve = undefined;
    this.timer = undefined;
    r?.();
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Exponential backoff with a cap: attempt 1 -> base, 2 -> 2*base, ... */
export function backoff(attempt: number, baseMs: number, capMs = 30_000): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
}
