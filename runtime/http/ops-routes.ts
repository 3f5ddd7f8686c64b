import type Router from '@koa/router';
import { subscriptionGroups, type ContextPlugin, type RuntimeServices } from '../context';
import { describePartitions } from '../messaging/partition-report';
import { listDeadLetters, redriveDeadLetter } from '../messaging/dead-letters';
import { HAL_JSON, link, resource } from './hal';
import { validate } from '../validation';
import { z } from 'zod';

const limitSchema = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) });

/** Operator endpoints: dead letters (list and re-drive), partition ownership and lag. */
export function mountOpsRoutes(router: Router, services: RuntimeServices, plugins: ContextPlugin[]): void {
  const groups = subscriptionGroups(plugins, services.config).map(({ group, subscription }) => ({ group, topics: subscription.topics }));
  router.get('/v1/ops/partitions', async (ctx) => {
    const report = await describePartitions(services.db, services.redis, services.topology, groups);
    ctx.type = HAL_JSON;
    ctx.body = resource({ partitions: services.topology.partitions }, { self: link('/v1/ops/partitions') }, { groupList: report });
  });
  router.get('/v1/ops/dead-letters', async (ctx) => {
    const { limit } = validate(limitSchema, { limit: ctx.query.limit });
    const letters = await listDeadLetters(services.redis, services.topology, limit);
    ctx.type = HAL_JSON;
    ctx.body = resource({ count: letters.length }, { self: link('/v1/ops/dead-letters') }, {
      deadLetterList: letters.map((l) => resource(l, { redrive: link(`/v1/ops/dead-letters/${l.id}/redrive`) })),
    });
  });
  router.post('/v1/ops/dead-letters/:id/redrive', async (ctx) => {
    const letter = await redriveDeadLetter(services.redis, services.topology, ctx.params.id);
    ctx.type = HAL_JSON;
    ctx.body = resource({ redriven: letter.id, streamKey: letter.streamKey, type: letter.message?.type }, { deadLetters: link('/v1/ops/dead-letters') });
  });
}
