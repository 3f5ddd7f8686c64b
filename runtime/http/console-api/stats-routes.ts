import type Router from '@koa/router';
import type { ContextPlugin, RuntimeServices } from '../../context';
import { maxPosition } from '../../store/event-log-queries';
import { countByStatus } from '../../store/ops-queries';
import { HAL_JSON, link } from '../hal';
import { route } from '../route-spec';
import { registeredAggregates } from './machines-routes';
import { statsSchema } from './schemas';

/** `GET /v1/stats`: aggregates per status from each read model (one GROUP BY per table), and the log's length. */
export function mountStatsRoutes(router: Router, services: RuntimeServices, plugins: readonly ContextPlugin[]): void {
  route(router, {
    method: 'get',
    path: '/v1/stats',
    operationId: 'getStats',
    summary: 'How many aggregates of each type are in each status, and how many events the log holds',
    description: "Counted from each aggregate's declared read model (`readModel.table`, `readModel.status`); `events.total` is the highest position.",
    tags: ['Console'],
    scope: 'read',
    responses: { 200: { description: 'The counts', schema: statsSchema } },
  }, async (ctx) => {
    const withReadModel = registeredAggregates(plugins).filter((d) => d.readModel);
    const [counts, total] = await Promise.all([
      Promise.all(withReadModel.map((d) => countByStatus(services.db, d.readModel!.table, d.readModel!.status))),
      maxPosition(services.db),
    ]);
    ctx.type = HAL_JSON;
    ctx.body = {
      aggregates: withReadModel.map((d, i) => ({ type: d.type, total: Object.values(counts[i]).reduce((a, b) => a + b, 0), byStatus: counts[i] })),
      events: { total },
      _links: { self: link('/v1/stats') },
    };
  });
}
