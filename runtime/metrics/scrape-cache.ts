/**
 * Runs `collect` at most once per `maxAgeMs`, however many callers ask: callers share the
 * collection in flight, or reuse its result while it is fresh. A failed collection is not
 * cached (the next caller tries again) but is still shared by the callers that waited on it.
 */
export class ScrapeCache<T> {
  private last?: { at: number; value: T };
  private inFlight?: Promise<T>;
  /** Collections started (what the test counts). */
  runs = 0;

  constructor(
    private readonly collect: () => Promise<T>,
    private readonly maxAgeMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The cached value if fresh, the collection in flight, or a new one. */
  get(): Promise<T> {
    if (this.last && this.now() - this.last.at < this.maxAgeMs) return Promise.resolve(this.last.value);
    if (this.inFlight) return this.inFlight;
    this.runs++;
    const run = this.collect().then(
      (value) => {
        // The age counts from the answer: a slow read is not followed by another at once.
        this.last = { at: this.now(), value };
        return value;
      },
    );
    this.inFlight = run;
    const clear = () => {
      if (this.inFlight === run) this.inFlight = undefined;
    };
    run.then(clear, clear);
    return run;
  }
}
