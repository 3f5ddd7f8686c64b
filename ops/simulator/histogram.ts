/**
 * Latency percentiles in constant memory: log-spaced buckets (about 2 % wide) instead of every
 * sample, so a run of days keeps the same few hundred counters.
 */
const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);

export class Histogram {
  private readonly buckets = new Map<number, number>();
  count = 0;
  max = 0;

  /** Records one value in milliseconds. */
  record(ms: number): void {
    const v = Math.max(1, ms);
    const b = Math.floor(Math.log(v) / LOG_GROWTH);
    this.buckets.set(b, (this.buckets.get(b) ?? 0) + 1);
    this.count += 1;
    if (ms > this.max) this.max = ms;
  }

  /** The value below which `p` (0..100) percent of the samples fall, to the bucket's precision; undefined when empty. */
  percentile(p: number): number | undefined {
    if (this.count === 0) return undefined;
    const rank = Math.ceil((p / 100) * this.count);
    let seen = 0;
    for (const b of [...this.buckets.keys()].sort((x, y) => x - y)) {
      seen += this.buckets.get(b)!;
      if (seen >= rank) return Math.min(this.max, Math.round(GROWTH ** (b + 1)));
    }
    return this.max;
  }
}
