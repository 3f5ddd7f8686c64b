import type { BenchEnv } from './env';

/**
 * One measured figure. `baseline` is the same work done by the raw client (pg or ioredis)
 * on the same server in the same run; `ratio` and `goal` say how the two compare.
 */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  baseline?: number;
  /** What the ratio is, e.g. "raw ÷ cmd" (cost) or "tributary ÷ raw" (share). */
  ratio?: { value: number; label: string };
  /** The ratio the project aims for. */
  goal?: { op: '<=' | '>='; value: number };
  /** A short remark printed under the table (what the figure includes, a failure count...). */
  note?: string;
}

export interface SuiteContext {
  /** A fresh database and Redis prefix for this suite; removed when the run ends. */
  freshEnv(label: string): Promise<BenchEnv>;
  /** Progress lines go here (stderr), so stdout holds the tables alone. */
  progress(line: string): void;
  /** Integer knob from the environment (BENCH_<NAME>), with a default. */
  knob(name: string, fallback: number): number;
}

/** A benchmark suite; register it in suites/index.ts. */
export interface Suite {
  name: string;
  description: string;
  run(ctx: SuiteContext): Promise<Figure[]>;
}

/** The ratio and whether it meets its goal (undefined when there is no goal). */
export function meetsGoal(f: Figure): boolean | undefined {
  if (!f.ratio || !f.goal) return undefined;
  return f.goal.op === '<=' ? f.ratio.value <= f.goal.value : f.ratio.value >= f.goal.value;
}
