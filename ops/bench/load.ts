/** The outcome of running one operation `count` times with a fixed number of workers. */
export interface LoadResult {
  count: number;
  ok: number;
  failed: number;
  firstError?: string;
  elapsedMs: number;
  /** CPU time this process spent meanwhile (user + system), in ms: the client's share of the work. */
  cpuMs: number;
  /** Latency of each successful operation, in ms. */
  latencies: number[];
}

/**
 * Runs `op(i)` for i in [0, count) with `concurrency` operations in flight at all times
 * (closed loop: each worker starts its next operation when the last one settles).
 * Stops early, counting the rest as not run, once `deadlineMs` has passed.
 */
export async function runConcurrent(
  count: number,
  concurrency: number,
  op: (i: number) => Promise<void>,
  deadlineMs = 60_000,
): Promise<LoadResult> {
  let next = 0;
  let ok = 0;
  let failed = 0;
  let firstError: string | undefined;
  const latencies: number[] = [];
  const started = performance.now();
  const cpu = process.cpuUsage();
  const stopAt = started + deadlineMs;
  const worker = async () => {
    while (next < count && performance.now() < stopAt) {
      const i = next++;
      const t0 = performance.now();
      try {
        await op(i);
        latencies.push(performance.now() - t0);
        ok++;
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { count, ok, failed, firstError, elapsedMs: performance.now() - started, cpuMs: cpuMsSince(cpu), latencies };
}

/** CPU time of this process since `start` (from process.cpuUsage()), in ms. */
export function cpuMsSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

/** Successful operations per second. */
export const rate = (r: Pick<LoadResult, 'ok' | 'elapsedMs'>) => (r.ok * 1000) / r.elapsedMs;

/** The p-th percentile (0..100) of the values, nearest-rank; NaN when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** Polls `probe` every `everyMs` until it returns true; false when `timeoutMs` passes first. */
export async function waitUntil(probe: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Several rounds of the same measurement pooled into one: total work over total time. */
export function pooled(results: LoadResult[]): LoadResult {
  return {
    count: results.reduce((n, r) => n + r.count, 0),
    ok: results.reduce((n, r) => n + r.ok, 0),
    failed: results.reduce((n, r) => n + r.failed, 0),
    firstError: results.find((r) => r.firstError)?.firstError,
    elapsedMs: results.reduce((n, r) => n + r.elapsedMs, 0),
    cpuMs: results.reduce((n, r) => n + r.cpuMs, 0),
    latencies: results.flatMap((r) => r.latencies),
  };
}
