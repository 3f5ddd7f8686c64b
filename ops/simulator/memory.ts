/**
 * The simulator's own memory over the run (RSS and V8 heap), so a long run can show that it
 * stays flat. Samples are bounded: when the list is full every other one is dropped and the
 * interval doubles, so a run of days keeps at most MAX_SAMPLES.
 */
const MAX_SAMPLES = 120;
const MB = 1024 * 1024;

export interface MemorySample {
  /** Seconds since the start. */
  t: number;
  rssMb: number;
  heapUsedMb: number;
}

const round = (n: number) => Math.round((n / MB) * 10) / 10;

export class MemoryWatch {
  readonly samples: MemorySample[] = [];
  peakRssMb = 0;
  private nextAt = 0;

  constructor(private intervalMs = 30_000) {}

  /** Samples when one is due (called from the run's tick). */
  maybeSample(elapsedMs: number): void {
    if (elapsedMs < this.nextAt) return;
    this.nextAt = elapsedMs + this.intervalMs;
    const m = process.memoryUsage();
    const sample = { t: Math.round(elapsedMs / 1000), rssMb: round(m.rss), heapUsedMb: round(m.heapUsed) };
    this.peakRssMb = Math.max(this.peakRssMb, sample.rssMb);
    this.samples.push(sample);
    if (this.samples.length >= MAX_SAMPLES) {
      for (let i = this.samples.length - 2; i > 0; i -= 2) this.samples.splice(i, 1);
      this.intervalMs *= 2;
    }
  }

  now(): MemorySample & { peakRssMb: number } {
    const m = process.memoryUsage();
    const rssMb = round(m.rss);
    this.peakRssMb = Math.max(this.peakRssMb, rssMb);
    return { t: this.samples.at(-1)?.t ?? 0, rssMb, heapUsedMb: round(m.heapUsed), peakRssMb: this.peakRssMb };
  }
}
