import { z } from 'zod';

/**
 * Where a function runs. `inline`: its handler, in the process that invokes it, retried by
 * the dispatcher; `job`: its handler, once per attempt of the BullMQ job that carries the
 * invocation (the job's attempts and backoff are the retries); `http`: POSTed as JSON to a URL
 * (a function platform's endpoint), retried by the dispatcher.
 */
export const FUNCTION_MODES = ['inline', 'job', 'http'] as const;
export type FunctionMode = (typeof FUNCTION_MODES)[number];

/** How one function runs, after its defaults and `FUNCTIONS` are merged. */
export interface FunctionSettings {
  mode: FunctionMode;
  /** The endpoint of an `http` function. */
  url?: string;
  /** Deadline of one attempt; past it the attempt is aborted (AbortSignal) and counts as failed. */
  timeoutMs: number;
  /** Attempts of one invocation (inline and http; a job's attempts are the job's). */
  attempts: number;
  /** First retry delay, doubled for each further attempt. */
  backoffMs: number;
}

const int = (min: number, max: number) => z.number().int().min(min).max(max);

/** One function's entry in `FUNCTIONS`: every field optional, the function's defaults fill the rest. */
const entry = z
  .object({
    mode: z.enum(FUNCTION_MODES),
    url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
    timeoutMs: int(1, 600_000),
    attempts: int(1, 100),
    backoffMs: int(0, 3_600_000),
  })
  .partial()
  .strict()
  .refine((s) => s.mode !== 'http' || s.url !== undefined, { message: 'mode http needs a url', path: ['url'] });

export type FunctionOverrides = z.infer<typeof entry>;

const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * Parses the `FUNCTIONS` setting: one JSON object, function name → settings, e.g.
 * `{"chargePayment":{"mode":"http","url":"http://fn:8080/chargePayment","timeoutMs":3000}}`.
 * One variable rather than `FUNCTION_<NAME>_*` so that the set of variables the runtime reads
 * is fixed (the ConfigMap test knows it). A bad entry is one message naming it.
 */
export function parseFunctions(value: string): Record<string, FunctionOverrides> {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    throw new Error('must be a JSON object of function name → {mode, url, timeoutMs, attempts, backoffMs}');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('must be a JSON object of function name → settings');
  const out: Record<string, FunctionOverrides> = {};
  for (const [name, raw] of Object.entries(json)) {
    if (!NAME.test(name)) throw new Error(`${JSON.stringify(name)} is not a function name`);
    const parsed = entry.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = [name, ...issue.path.map(String)].join('.');
      throw new Error(`${where}: ${issue.message}`);
    }
    out[name] = parsed.data;
  }
  return out;
}

/** `FUNCTIONS` as a setting of the runtime's schema (runtime/config.ts): validated at start-up. */
export const functionsSetting = z
  .string()
  .default('{}')
  .transform((value, ctx) => {
    try {
      return parseFunctions(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });

/**
 * The settings of function `name` now: its defaults, overridden by its `FUNCTIONS` entry.
 * Read on use rather than once at import, like the contexts' settings, so a process (or a
 * test) that sets the environment before it starts gets what it set.
 */
export function functionSettings(name: string, defaults: FunctionSettings, env: NodeJS.ProcessEnv = process.env): FunctionSettings {
  const overrides = env.FUNCTIONS ? (parseFunctions(env.FUNCTIONS)[name] ?? {}) : {};
  const merged = { ...defaults, ...overrides };
  if (merged.mode === 'http' && !merged.url) throw new Error(`FUNCTIONS: ${name} runs over http but has no url`);
  return merged;
}
