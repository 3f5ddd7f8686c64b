/**
 * Rates without drift: how many events are due is computed from the elapsed time
 * (`floor(elapsed × rate)`), not from timers that add up their delays. A fractional rate
 * (one order every 5 s = 0.2/s) works the same way, and `--speed` only scales the rate.
 */
export class Rate {
  private fired = 0;

  /** @param perSecond events per second, already multiplied by the speed; `first` fires one at t = 0. */
  constructor(
    private readonly perSecond: number,
    private readonly first = false,
  ) {}

  /** How many events are due at `elapsedMs` since the start, counting them as fired. */
  due(elapsedMs: number): number {
    if (this.perSecond <= 0) return 0;
    const total = Math.floor((elapsedMs / 1000) * this.perSecond) + (this.first ? 1 : 0);
    const n = Math.max(0, total - this.fired);
    this.fired += n;
    return n;
  }
}
