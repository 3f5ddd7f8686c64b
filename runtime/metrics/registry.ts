import { Registry, collectDefaultMetrics } from 'prom-client';
import { z } from 'zod';
import { readSettings } from '../config';

/**
 * The process's one Prometheus registry. Every family of the runtime registers here at
 * module load; `GET /metrics` renders it. One per process (not per runtime): the hooks in
 * hot paths are module-level counters, so two runtimes in one test process add up.
 */
export const registry = new Registry();

/** Metric names start with this. */
export const PREFIX = 'tributary_';

const bool = z.enum(['true', 'false']).transform((v) => v === 'true');

/** The settings of this module (read from the process's config env, not `process.env` directly). */
export const metricsSettingsSchema = z.object({
  /** `false`: no counting in hot paths and no `/metrics` route (the bench's baseline). */
  METRICS: bool.default(true),
  /** How long gauges read from Postgres and Redis are reused, however many scrapers ask. */
  METRICS_CACHE_MS: z.coerce.number().int().min(0).max(600_000).default(5_000),
  /** `false`: log lines do not carry trace_id / span_id / correlation_id. */
  LOG_TRACE_IDS: bool.default(true),
});

export interface MetricsSettings {
  enabled: boolean;
  cacheMs: number;
  logTraceIds: boolean;
}

/** The metrics and log settings of a config env. */
export function metricsSettings(env: Readonly<Record<string, string | undefined>>): MetricsSettings {
  const s = readSettings(metricsSettingsSchema, env);
  return { enabled: s.METRICS, cacheMs: s.METRICS_CACHE_MS, logTraceIds: s.LOG_TRACE_IDS };
}

/**
 * Whether the hooks count. A plain module flag read by every hook (one branch, no lookup);
 * turned off by `METRICS=false` when a runtime starts.
 */
export const state = { enabled: true };

let defaultsOn = false;
/** Process metrics (event-loop lag, memory, GC, CPU), once per process. */
export function enableProcessMetrics(): void {
  if (defaultsOn) return;
  defaultsOn = true;
  collectDefaultMetrics({ register: registry, prefix: PREFIX });
}
