import type Router from '@koa/router';
import type { ContextPlugin, RuntimeServices } from '../../context';
import { mountAnalyticsRoutes } from './analytics-routes';
import { mountCorrelationRoutes } from './correlation-routes';
import { mountDemoRoutes, offersDemo } from './demo-routes';
import { mountEventStreamRoutes } from './event-stream/routes';
import { mountMachineRoutes } from './machines-routes';
import { mountOpsOverviewRoutes } from './ops-overview-routes';
import { mountStatsRoutes } from './stats-routes';
import { recordOfferedInput } from './aggregate-paths';
import { link, type Links } from '../hal';

export { closeEventStreams, eventFeedOf } from './event-stream/routes';
export { bullBoard, QUEUES_PATH } from './bull-board';
export { recordBasePath, basePathOf } from './aggregate-paths';

/**
 * The API behind the console (`/console`): machines, stats, correlation timelines, the event
 * stream, analytics, the ops overview and the demo seed. Everything the console shows comes
 * from here, generically over the loaded contexts.
 */
export function mountConsoleApi(router: Router, services: RuntimeServices, plugins: readonly ContextPlugin[]): void {
  for (const p of plugins) for (const o of p.offers ?? []) if (o.input) recordOfferedInput(services.actors, o.aggregate, o.command, o.input);
  mountMachineRoutes(router, services, plugins);
  mountStatsRoutes(router, services, plugins);
  mountCorrelationRoutes(router, services);
  mountEventStreamRoutes(router, services, plugins);
  mountAnalyticsRoutes(router, services, plugins);
  mountOpsOverviewRoutes(router, services, plugins);
  if (offersDemo(plugins)) mountDemoRoutes(router, services, plugins);
}

/** The entry point's links to the console and its API. */
export function consoleLinks(plugins: readonly ContextPlugin[]): Links {
  const links: Links = {
    console: link('/console'),
    machines: link('/v1/machines'),
    stats: link('/v1/stats'),
    eventStream: link('/v1/events/stream{?type,id,correlationId}', { templated: true }),
    analytics: link('/v1/analytics{?window}', { templated: true }),
    correlation: link('/v1/correlations/{id}', { templated: true }),
    ops: link('/v1/ops'),
  };
  if (offersDemo(plugins)) links.demo = link('/v1/demo');
  return links;
}
