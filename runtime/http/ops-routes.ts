import type Router from '@koa/router';
import { subscriptionGroups, type ContextPlugin, type RuntimeServices } from '../context';
import { describePartitions, unreadStreams } from '../messaging/partition-report';
import { DEAD_LETTER_ID_EXAMPLE, listDeadLetters, redriveDeadLetter } from '../messaging/dead-letters';
import { HAL_JSON, link, resource } from './hal';
import { validate } from '../validation';
import { z } from 'zod';
import { route } from './route-spec';
import { linksSchema } from './openapi/schemas';

const limitSchema = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100).describe('How many dead letters to list, oldest first') });

const partitionStatus = z
  .object({
    partition: z.number().int(),
    owner: z.string().nullable(),
    leaseExpiresInMs: z.number().nullable(),
    token: z.number().int().nullable(),
    pending: z.number().int(),
    lag: z.number().int().nullable(),
  })
  .strict();

const partitionsSchema = z
  .object({
    partitions: z.number().int().min(1),
    unreadStreams: z
      .array(z.object({ key: z.string(), length: z.number().int().min(1) }).strict())
      .describe('Non-empty partition streams that no partition reads (written under a larger PARTITIONS): stranded until `tributary repartition` moves them'),
    _links: linksSchema(['self']),
    _embedded: z
      .object({
        groupList: z.array(
          z
            .object({
              group: z.string(),
              topics: z.array(z.string()),
              members: z.array(z.object({ id: z.string(), lastSeenMsAgo: z.number() }).strict()),
              partitions: z.array(partitionStatus),
            })
            .strict(),
        ),
      })
      .strict(),
  })
  .strict();

/** A message as it travels on the streams (`Envelope`). */
const envelopeSchema = z
  .object({
    id: z.string(),
    type: z.string(),
    stream: z.string(),
    actor: z.object({ type: z.string(), id: z.string() }).strict(),
    version: z.number().int(),
    correlationId: z.string(),
    causationId: z.string(),
    traceparent: z.string().optional(),
    tracestate: z.string().optional(),
    occurredAt: z.string(),
    data: z.unknown(),
  })
  .meta({ id: 'Envelope' });

const deadLetterSchema = z
  .object({
    id: z.string(),
    group: z.string(),
    streamKey: z.string(),
    entryId: z.string(),
    error: z.string(),
    attempts: z.number().int(),
    failedAt: z.string(),
    message: envelopeSchema.optional(),
    _links: linksSchema(['redrive']),
  })
  .strict();

const deadLettersSchema = z
  .object({ count: z.number().int().min(0), _links: linksSchema(['self']), _embedded: z.object({ deadLetterList: z.array(deadLetterSchema) }).strict() })
  .strict();

const redrivenSchema = z
  .object({ redriven: z.string(), streamKey: z.string(), type: z.string().optional(), _links: linksSchema(['deadLetters']) })
  .strict();

/** Operator endpoints: dead letters (list and re-drive), partition ownership and lag. */
export function mountOpsRoutes(router: Router, services: RuntimeServices, plugins: ContextPlugin[]): void {
  const groups = subscriptionGroups(plugins, services.config).map(({ group, subscription }) => ({ group, topics: subscription.topics }));
  const tags = ['Operations'];
  route(router, {
    method: 'get',
    path: '/v1/ops/partitions',
    operationId: 'getPartitions',
    summary: 'Partition ownership, pending entries and lag per consumer group',
    tags,
    scope: 'ops',
    responses: { 200: { description: 'Every consumer group with its partitions', schema: partitionsSchema } },
  }, async (ctx) => {
    const [report, unread] = await Promise.all([describePartitions(services.db, services.redis, services.topology, groups), unreadStreams(services.redis, services.topology)]);
    ctx.type = HAL_JSON;
    ctx.body = resource({ partitions: services.topology.partitions, unreadStreams: unread }, { self: link('/v1/ops/partitions') }, { groupList: report });
  });
  route(router, {
    method: 'get',
    path: '/v1/ops/dead-letters',
    operationId: 'listDeadLetters',
    summary: 'The dead letters (messages that failed every attempt), oldest first',
    tags,
    scope: 'ops',
    query: limitSchema,
    responses: { 200: { description: 'Up to `limit` dead letters', schema: deadLettersSchema } },
  }, async (ctx) => {
    const { limit } = validate(limitSchema, { limit: ctx.query.limit });
    const letters = await listDeadLetters(services.redis, services.topology, limit);
    ctx.type = HAL_JSON;
    ctx.body = resource({ count: letters.length }, { self: link('/v1/ops/dead-letters') }, {
      deadLetterList: letters.map((l) => resource(l, { redrive: link(`/v1/ops/dead-letters/${l.id}/redrive`) })),
    });
  });
  route(router, {
    method: 'post',
    path: '/v1/ops/dead-letters/:id/redrive',
    operationId: 'redriveDeadLetter',
    summary: 'Puts a dead letter back on its stream and removes it from the dead letters',
    tags,
    scope: 'ops',
    params: z.object({ id: z.string().describe(`The dead letter id (\`${DEAD_LETTER_ID_EXAMPLE}\`: partition and entry; anything else is answered 404)`) }),
    responses: {
      200: { description: 'The dead letter was re-driven', schema: redrivenSchema },
      404: { description: 'No such dead letter, or it holds no message' },
    },
  }, async (ctx) => {
    const letter = await redriveDeadLetter(services.redis, services.topology, ctx.params.id);
    ctx.type = HAL_JSON;
    ctx.body = resource({ redriven: letter.id, streamKey: letter.streamKey, type: letter.message?.type }, { deadLetters: link('/v1/ops/dead-letters') });
  });
}
