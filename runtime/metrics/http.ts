import { Counter, Histogram } from 'prom-client';
import { PREFIX, registry, state } from './registry';

const requests = new Counter({
  name: `${PREFIX}http_requests_total`,
  help: 'HTTP requests answered, by route template, method and status',
  labelNames: ['route', 'method', 'status'] as const,
  registers: [registry],
});

const duration = new Histogram({
  name: `${PREFIX}http_request_duration_seconds`,
  help: 'HTTP request duration (until the response is written by the app), by route template and method',
  labelNames: ['route', 'method'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

type CounterChild = ReturnType<typeof requests.labels>;
type HistogramChild = ReturnType<typeof duration.labels>;

/** Children bound once per route/method(/status): a request costs two map lookups, no label object. */
const counters = new Map<string, Map<string, Map<number, CounterChild>>>();
const histograms = new Map<string, Map<string, HistogramChild>>();

/** Path used for requests that matched no route (so unknown URLs cannot grow the label set). */
export const UNMATCHED_ROUTE = '(unmatched)';

/** Counts one answered request; `route` is the Koa route template (`/v1/accounts/:id`). */
export function observeRequest(route: string, method: string, status: number, seconds: number): void {
  if (!state.enabled) return;
  let byMethod = counters.get(route);
  if (!byMethod) counters.set(route, (byMethod = new Map()));
  let byStatus = byMethod.get(method);
  if (!byStatus) byMethod.set(method, (byStatus = new Map()));
  let c = byStatus.get(status);
  if (!c) byStatus.set(status, (c = requests.labels(route, method, String(status))));
  c.inc();
  let hByMethod = histograms.get(route);
  if (!hByMethod) histograms.set(route, (hByMethod = new Map()));
  let h = hByMethod.get(method);
  if (!h) hByMethod.set(method, (h = duration.labels(route, method)));
  h.observe(seconds);
}
