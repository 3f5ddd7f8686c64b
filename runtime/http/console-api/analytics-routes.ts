import type Router from '@koa/router';
import { z } from 'zod';
import type { ContextPlugin, RuntimeServices } from '../../context';
import { eventCounts } from '../../store/event-analytics';
import { validate } from '../../validation';
import { HAL_JSON, link } from '../hal';
import { route } from '../route-spec';
import { machineModel } from './machine-model';
import { registeredAggregates } from './machines-routes';
import { analyticsSchema } from './schemas';

/** The windows offered, with their length and bucket width in seconds (5m → 10 s buckets, 1h → 60 s, 24h → 15 min). */
export const WINDOWS = { '5m': { seconds: 300, bucket: 10 }, '1h': { seconds: 3600, bucket: 60 }, '24h': { seconds: 86_400, bucket: 900 } } as const;
type WindowName = keyof typeof WINDOWS;

const querySchema = z.object({
  window: z.enum(['5m', '1h', '24h'], { error: 'window must be one of 5m, 1h, 24h' }).default('1h').describe('The time window (default 1h)'),
});

/** How long an answer is reused: the console polls, and many consoles must not mean many scans. */
const CACHE_MS = 2_000;

/** `GET /v1/analytics?window=`: committed events per type over time, and outcomes (events into final states). */
export function mountAnalyticsRoutes(router: Router, services: RuntimeServices, plugins: readonly ContextPlugin[]): void {
  const cache = new Map<WindowName, { at: number; body: Promise<object> }>();

  async function compute(window: WindowName): Promise<object> {
    const { seconds, bucket } = WINDOWS[window];
    const { from, to, series } = await eventCounts(services.db, seconds, bucket);
    const defs = new Map(registeredAggregates(plugins).map((d) => [d.type, d]));
    const size = seconds / bucket;
    const outcomes = [];
    for (const def of defs.values()) {
      const model = machineModel(def);
      const byState = new Map<string, { total: number; buckets: number[] }>();
      for (const state of model.states.filter((s) => s.final)) byState.set(state.name, { total: 0, buckets: new Array<number>(size).fill(0) });
      for (const s of series.filter((x) => x.aggregateType === def.type)) {
        const state = model.finalEvents[s.eventType];
        const o = state && byState.get(state);
        if (!o) continue;
        o.total += s.total;
        s.buckets.forEach((n, i) => (o.buckets[i] += n));
      }
      for (const [status, o] of byState) outcomes.push({ aggregateType: def.type, status, total: o.total, buckets: o.buckets, perMinute: Math.round((o.total / (seconds / 60)) * 1000) / 1000 });
    }
    return {
      window,
      from: from.toISOString(),
      to: to.toISOString(),
      bucketSeconds: bucket,
      series: series.map((s) => ({ topic: defs.get(s.aggregateType)?.topic ?? s.aggregateType, ...s })),
      outcomes,
      _links: { self: link(`/v1/analytics?window=${window}`) },
    };
  }

  route(router, {
    method: 'get',
    path: '/v1/analytics',
    operationId: 'getAnalytics',
    summary: 'Committed events per aggregate and event type over a time window, and outcomes per final state',
    description: 'Counted in one statement over the event log (date_bin buckets); answers are reused for about 2 s.',
    tags: ['Console'],
    scope: 'read',
    query: querySchema,
    responses: { 200: { description: 'The counts', schema: analyticsSchema } },
  }, async (ctx) => {
    const { window } = validate(querySchema, { window: ctx.query.window });
    let hit = cache.get(window);
    if (!hit || Date.now() - hit.at > CACHE_MS) {
      hit = { at: Date.now(), body: compute(window) };
      cache.set(window, hit);
      hit.body.catch(() => cache.delete(window));
    }
    ctx.type = HAL_JSON;
    ctx.body = await hit.body;
  });
}
