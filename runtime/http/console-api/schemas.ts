import { z } from 'zod';
import { halLinkSchema, linksSchema } from '../openapi/schemas';

/**
 * The response shapes of the console's API, as zod schemas: the routes declare them, the API
 * document is generated from them, and the end-to-end tests validate answers against it.
 */

export const machineSchema = z
  .object({
    type: z.string(),
    topic: z.string(),
    initial: z.string(),
    states: z.array(z.object({ name: z.string(), final: z.boolean() }).strict()),
    transitions: z.array(
      z.object({ from: z.string(), to: z.string(), event: z.string(), guard: z.string().optional(), commands: z.array(z.string()) }).strict(),
    ),
    commands: z.array(z.object({ name: z.string(), event: z.string(), creates: z.boolean(), public: z.boolean() }).strict()),
    compensations: z.array(z.string()),
    _links: linksSchema(['self'], ['collection', 'item']),
  })
  .strict()
  .meta({ id: 'Machine', description: "An aggregate type's state machine, read from its xstate definition." });

export const machineListSchema = z
  .object({ _links: linksSchema(['self']), _embedded: z.object({ machineList: z.array(machineSchema) }).strict() })
  .strict();

export const statsSchema = z
  .object({
    aggregates: z.array(z.object({ type: z.string(), total: z.number().int().min(0), byStatus: z.record(z.string(), z.number().int().min(0)) }).strict()),
    events: z.object({ total: z.number().int().min(0) }).strict(),
    _links: linksSchema(['self']),
  })
  .strict();

export const eventViewSchema = z
  .object({
    position: z.number().int().min(1),
    eventId: z.string(),
    type: z.string(),
    aggregateType: z.string(),
    aggregateId: z.string(),
    version: z.number().int().min(1),
    createdAt: z.iso.datetime(),
    causationId: z.string(),
    correlationId: z.string(),
    compensation: z.boolean(),
    data: z.unknown(),
    _links: linksSchema([], ['self', 'aggregate']),
  })
  .strict()
  .meta({ id: 'TimelineEvent', description: 'A committed event, as a correlation timeline and the event stream show it.' });

export const correlationSchema = z
  .object({
    correlationId: z.string(),
    traceId: z.string().optional(),
    events: z.array(eventViewSchema),
    timers: z.array(
      z
        .object({
          actorType: z.string(),
          actorId: z.string(),
          name: z.string(),
          dueAt: z.iso.datetime(),
          overdue: z.boolean(),
          attempt: z.number().int().nullable(),
          data: z.record(z.string(), z.unknown()),
        })
        .strict(),
    ),
    outcome: z.object({ status: z.enum(['running', 'succeeded', 'failed']), reason: z.string().optional() }).strict(),
    _links: linksSchema(['self'], ['trace']),
  })
  .strict();

const bucketsSchema = z.array(z.number().int().min(0));

export const analyticsSchema = z
  .object({
    window: z.enum(['5m', '1h', '24h']),
    from: z.iso.datetime(),
    to: z.iso.datetime(),
    bucketSeconds: z.number().int(),
    series: z.array(
      z.object({ topic: z.string(), aggregateType: z.string(), eventType: z.string(), total: z.number().int().min(0), buckets: bucketsSchema }).strict(),
    ),
    outcomes: z.array(
      z.object({ aggregateType: z.string(), status: z.string(), total: z.number().int().min(0), buckets: bucketsSchema, perMinute: z.number().min(0) }).strict(),
    ),
    _links: linksSchema(['self']),
  })
  .strict();

export const opsOverviewSchema = z
  .object({
    outbox: z.object({ backlog: z.number().int().min(0), oldestAgeMs: z.number().int().min(0).nullable() }).strict(),
    timers: z.object({ scheduled: z.number().int().min(0), due: z.number().int().min(0) }).strict(),
    groups: z.array(z.record(z.string(), z.unknown())),
    deadLetters: z.object({ count: z.number().int().min(0) }).strict(),
    _links: linksSchema(['self', 'partitions', 'deadLetters', 'queues', 'redrive']),
  })
  .strict();

export const redriveAllSchema = z.object({ redriven: z.number().int().min(0), group: z.string().optional(), _links: linksSchema(['deadLetters']) }).strict();

export const demoSchema = z
  .object({ contexts: z.array(z.string()), _links: z.record(z.string(), halLinkSchema) })
  .strict();
