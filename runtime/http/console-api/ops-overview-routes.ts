import type Router from '@koa/router';
import { z } from 'zod';
import { subscriptionGroups, type ContextPlugin, type RuntimeServices } from '../../context';
import { NotFoundError } from '../../errors';
import { describePartitions } from '../../messaging/partition-report';
import { countDeadLetters, deleteDeadLetter, redriveAllDeadLetters, DEAD_LETTER_ID_EXAMPLE, DEAD_LETTER_ID_PATTERN } from '../../messaging/dead-letters';
import { storeBacklog } from '../../store/ops-queries';
import { validate } from '../../validation';
import { HAL_JSON, link } from '../hal';
import { route } from '../route-spec';
import { opsOverviewSchema, redriveAllSchema } from './schemas';

/**
 * A Redis stream id (`<ms>-<seq>`): anything else is a 400. Each part is an unsigned 64-bit
 * integer in Redis; at most 19 digits keeps it in range (2^64 has 20) and is expressible in the
 * API document's pattern (a real id's first part has 13 digits until the year 2286).
 */
export const deadLetterIdSchema = z.string().regex(DEAD_LETTER_ID_PATTERN, `must be a dead letter id such as ${DEAD_LETTER_ID_EXAMPLE}`);

const groupQuery = z
  .object({
    group: z
      .string()
      .max(200)
      .regex(/^[a-z][a-z0-9-]*\.[A-Za-z0-9_.-]+$/, 'group must be a consumer group such as orders.saga')
      .optional()
      .describe('Only the dead letters of this consumer group (`<context>.<subscription>`)'),
  })
  .strict();

/** `GET /v1/ops` (the operator's overview) and the dead-letter actions the console needs: delete one, re-drive all. */
export function mountOpsOverviewRoutes(router: Router, services: RuntimeServices, plugins: readonly ContextPlugin[]): void {
  const groups = subscriptionGroups(plugins, services.config).map(({ group, subscription }) => ({ group, topics: subscription.topics }));

  route(router, {
    method: 'get',
    path: '/v1/ops',
    operationId: 'getOpsOverview',
    summary: 'Outbox backlog, timers, consumer groups and dead letters at a glance',
    tags: ['Ops'],
    scope: 'ops',
    responses: { 200: { description: 'The overview', schema: opsOverviewSchema } },
  }, async (ctx) => {
    const { redis, topology, db } = services;
    const [backlog, report, deadLetters] = await Promise.all([
      storeBacklog(db),
      describePartitions(db, redis, topology, groups),
      countDeadLetters(redis, topology),
    ]);
    ctx.type = HAL_JSON;
    ctx.body = {
      ...backlog,
      groups: report,
      deadLetters: { count: deadLetters },
      _links: {
        self: link('/v1/ops'),
        partitions: link('/v1/ops/partitions'),
        deadLetters: link('/v1/ops/dead-letters'),
        redrive: link('/v1/ops/dead-letters/redrive{?group}', { templated: true }),
        queues: link('/console/queues'),
      },
    };
  });

  route(router, {
    method: 'delete',
    path: '/v1/ops/dead-letters/:id',
    operationId: 'deleteDeadLetter',
    summary: 'Discards one dead letter',
    tags: ['Ops'],
    scope: 'ops',
    params: z.object({ id: deadLetterIdSchema.describe('The dead letter id (`p<partition>-<entry id>`)') }),
    responses: { 204: { description: 'Deleted' }, 400: { description: 'The id is not a dead letter id' }, 404: { description: 'No dead letter with that id' } },
  }, async (ctx) => {
    const { id } = validate(z.object({ id: deadLetterIdSchema }), { id: ctx.params.id });
    if (!(await deleteDeadLetter(services.redis, services.topology, id))) throw new NotFoundError(`No dead letter with id ${id}`);
    ctx.status = 204;
  });

  route(router, {
    method: 'post',
    path: '/v1/ops/dead-letters/redrive',
    operationId: 'redriveDeadLetters',
    summary: 'Re-drives every dead letter, or those of one consumer group',
    description: 'Each goes back on its stream as a new entry and leaves the dead letters; groups that handled it before skip it (inbox).',
    tags: ['Ops'],
    scope: 'ops',
    query: groupQuery,
    responses: { 200: { description: 'How many were re-driven', schema: redriveAllSchema } },
  }, async (ctx) => {
    const { group } = validate(groupQuery, { ...ctx.query });
    const redriven = await redriveAllDeadLetters(services.redis, services.topology, group);
    ctx.type = HAL_JSON;
    ctx.body = { redriven, ...(group ? { group } : {}), _links: { deadLetters: link('/v1/ops/dead-letters') } };
  });
}
