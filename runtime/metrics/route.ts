import type Router from '@koa/router';
import { z } from 'zod';
import { route } from '../http/route-spec';
import { registry } from './registry';
import type { RuntimeMetrics } from './collector';

/** The runtime metrics of each started runtime, keyed by its services (set once its parts run). */
const attached = new WeakMap<object, RuntimeMetrics>();

/** Makes `/metrics` of the app built on `services` report `metrics` too. */
export function attachMetrics(services: object, metrics: RuntimeMetrics): void {
  attached.set(services, metrics);
}

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4';

/**
 * `GET /metrics` in the Prometheus text format, on the web role and on a worker's health
 * server. Mounting touches nothing (the API document generator builds the same router).
 */
export function mountMetrics(router: Router, services: object): void {
  route(router, {
    method: 'get',
    path: '/metrics',
    operationId: 'getMetrics',
    summary: 'Prometheus metrics of this process (text exposition format 0.0.4)',
    description: 'Gauges read from Postgres and Redis are at most METRICS_CACHE_MS old, however many scrapers ask. See docs/observability.md.',
    tags: ['Health'],
    scope: 'ops',
    responses: {
      200: { description: 'Every metric family of this process', contentType: METRICS_CONTENT_TYPE, schema: z.string() },
    },
  }, async (ctx) => {
    await attached.get(services)?.refresh();
    ctx.body = await registry.metrics();
    // Set as is: ctx.type would append a charset that the format's version string does not name.
    ctx.set('Content-Type', METRICS_CONTENT_TYPE);
  });
}
