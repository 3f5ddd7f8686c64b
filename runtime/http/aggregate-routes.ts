import type Router from '@koa/router';
import type { Context } from 'koa';
import { z, ZodObject, type ZodType } from 'zod';
import type { RuntimeServices } from '../context';
import type { Queryable } from '../store/database';
import type { AggregateState } from '../actors/aggregate';
import type { StoredEvent } from '../store/event-store';
import { NotFoundError, ValidationError } from '../errors';
import { HAL_JSON, link, resource, type Links } from './hal';
import { bodyOf } from './json-body';
import { route } from './route-spec';
import { idParamsSchema, linksSchema } from './openapi/schemas';
import { halFormsTemplate, templatesSchema, type HalFormsTemplate } from './console-api/hal-forms';
import { offeredInputOf, recordBasePath } from './console-api/aggregate-paths';
import { accessOf, type AccountAccess } from '../auth/principal';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUIDs; anything else cannot name a resource, so it is a 404, never a driver error. */
export function requireUuid(id: string, what: string): string {
  if (!UUID.test(id)) throw new NotFoundError(`No ${what} with id ${id}`);
  return id.toLowerCase();
}

export interface AggregateRoutesOptions<C> {
  /** Collection path, e.g. `/v1/accounts`. */
  basePath: string;
  /** Aggregate type, e.g. `account`: rel of the resource and `<type>EventList`. */
  aggregate: string;
  /**
   * The HAL resource returned after a command, read through `q`: the command's own
   * transaction, so that a writer committing right after cannot show through.
   */
  present(state: AggregateState<C>, services: RuntimeServices, q: Queryable): Promise<object> | object;
  /** The schema of what `present` returns, for the API document (any object when omitted). */
  schema?: ZodType;
  /**
   * Whether the aggregate `id` belongs to an account `access` may see (its read model adds the
   * WHERE clause). Given: the routes are per account (a bound credential gets 404 for another
   * account's aggregate, before anything is written). Omitted: a bound credential is refused (403).
   */
  visible?(q: Queryable, id: string, access: AccountAccess): Promise<boolean>;
}

/**
 * An aggregate version as `If-Match` carries it: `"3"`, `W/"3"` or a bare `3`, at most 15
 * digits (a safe integer; a version never gets near it). Quotes come in pairs.
 */
const IF_MATCH = /^(?:(?:W\/)?"[0-9]{1,15}"|[0-9]{1,15})$/;

/** `If-Match`, as the routes that take it declare it: an aggregate version, quoted or not. */
export const ifMatchSchema = z
  .string()
  .regex(IF_MATCH, 'If-Match must be an aggregate version such as "3"')
  .describe('The aggregate version the change expects (the ETag of the resource read): 409 if it moved on.');

/** The response header of a resource with a version. */
export const ETAG_HEADER = { ETag: 'The aggregate version, quoted ("3"): send it back in If-Match.' };

const eventSchemas = new Map<string, ZodType>();

/**
 * The hypermedia representation of one stored event, as the API document describes it
 * (`<Aggregate>Event`). One per aggregate type: a schema's id may be registered only once.
 */
export function eventResourceSchema(aggregate: string): ZodType {
  let schema = eventSchemas.get(aggregate);
  if (!schema) eventSchemas.set(aggregate, (schema = newEventResourceSchema(aggregate)));
  return schema;
}

function newEventResourceSchema(aggregate: string) {
  return z
    .object({
      eventId: z.string(),
      type: z.string(),
      version: z.number().int().min(1),
      createdAt: z.iso.datetime(),
      correlationId: z.string(),
      causationId: z.string(),
      data: z.record(z.string(), z.unknown()),
      _links: linksSchema(['self', aggregate]),
    })
    .strict()
    .meta({ id: `${aggregate[0].toUpperCase()}${aggregate.slice(1)}Event` });
}

/** `If-Match: "3"` (or `3`) → expected version 3; absent → no check; anything else → 400. */
export function ifMatchVersion(header: string): number | undefined {
  if (!header) return undefined;
  const v = IF_MATCH.test(header) ? Number(header.replace(/^W\//, '').replace(/"/g, '')) : NaN;
  if (!Number.isInteger(v) || v < 0) throw new ValidationError(`If-Match must be an aggregate version such as "3", not ${header}`);
  return v;
}

/** The hypermedia representation of one stored event. */
export function eventResource(basePath: string, aggregate: string, e: StoredEvent) {
  const owner = `${basePath}/${e.metadata.actorId}`;
  return resource(
    {
      eventId: e.eventId,
      type: e.type,
      version: e.version,
      createdAt: e.createdAt.toISOString(),
      correlationId: e.metadata.correlationId,
      causationId: e.metadata.causationId,
      data: e.data,
    },
    { self: link(`${owner}/events/${e.eventId}`), [aggregate]: link(owner) },
  );
}

/**
 * The routes every aggregate has: its commands resource (derived from its machine), one
 * POST per command, and its hypermedia event log.
 */
export function mountAggregateRoutes<C>(router: Router, services: RuntimeServices, options: AggregateRoutesOptions<C>): void {
  const { basePath, aggregate } = options;
  const { actors } = services;
  const definition = actors.definition(aggregate);
  const Aggregate = aggregate[0].toUpperCase() + aggregate.slice(1);
  const tags = [Aggregate];
  const resourceSchema = options.schema ?? z.object({}).catchall(z.unknown());
  const eventSchema = eventResourceSchema(aggregate);
  // The console finds an aggregate's collection and items (machines, timelines) where its routes are.
  recordBasePath(actors, aggregate, basePath);
  const perAccount = Boolean(options.visible);
  /** 404 when the request's access does not reach this aggregate (checked in `q`: the command's transaction). */
  const requireVisible = async (ctx: Context, q: Queryable, id: string): Promise<void> => {
    const access = accessOf(ctx);
    if (access.kind === 'all') return;
    if (!options.visible || !(await options.visible(q, id, access))) throw new NotFoundError(`No ${aggregate} with id ${id}`);
  };

  route(router, {
    method: 'get',
    path: `${basePath}/:id/commands`,
    operationId: `get${Aggregate}Commands`,
    summary: `The commands the ${aggregate} allows in its current status`,
    description: 'One link per allowed command (derived from the aggregate\'s machine); POST to it to run the command. `_templates` holds a HAL-FORMS template per allowed command (`schema`: the JSON Schema of its input).',
    tags,
    scope: 'read',
    perAccount,
    params: idParamsSchema,
    responses: {
      200: {
        description: 'The commands resource',
        schema: z.object({ status: z.string(), version: z.number().int().min(0), _links: linksSchema(['self', aggregate], [], true), _templates: templatesSchema }).strict(),
      },
      404: { description: `No ${aggregate} with that id` },
    },
  }, async (ctx) => {
    const id = requireUuid(ctx.params.id, aggregate);
    await requireVisible(ctx, services.db, id);
    const state = await actors.get(aggregate, id);
    const links: Links = { self: link(`${basePath}/${id}/commands`), [aggregate]: link(`${basePath}/${id}`) };
    const templates: Record<string, HalFormsTemplate> = {};
    for (const name of actors.allowedCommands(aggregate, state)) {
      const schema = definition.commands[name]?.input;
      const params = schema instanceof ZodObject ? Object.keys(schema.shape) : [];
      links[name] = params.length
        ? link(`${basePath}/${id}/commands/${name}{?${params.join(',')}}`, { templated: true })
        : link(`${basePath}/${id}/commands/${name}`);
      // A command offered by another context declares its input on the offer (orders: postOrder).
      templates[name] = halFormsTemplate(name, 'POST', `${basePath}/${id}/commands/${name}`, schema ?? offeredInputOf(actors, aggregate, name));
    }
    ctx.type = HAL_JSON;
    ctx.body = { status: state.status, version: state.version, _links: links, _templates: templates };
  });

  // One route per public command, so the API document describes each one's input. Another
  // context may offer a command on this resource (orders: postOrder on an account) and serves it itself.
  for (const [name, spec] of Object.entries(definition.commands)) {
    if (spec.public === false || spec.creates) continue;
    route(router, {
      method: 'post',
      path: `${basePath}/:id/commands/${name}`,
      operationId: `${name}${Aggregate}`,
      summary: `Runs the ${aggregate}'s ${name} command`,
      description: `409 when the ${aggregate}'s status does not allow it. The input, if any, is the JSON body (or the query string when there is no body).`,
      tags,
      scope: 'write',
      perAccount,
      params: idParamsSchema,
      // Optional: an input-less command takes no body (or an empty object).
      body: (spec.input ?? z.object({}).strict()).optional(),
      headers: { 'If-Match': ifMatchSchema.optional() },
      responses: {
        200: { description: `The ${aggregate} after the command`, schema: resourceSchema, headers: ETAG_HEADER },
        404: { description: `No ${aggregate} with that id` },
        409: { description: 'The command is not allowed in the current status (command-rejected), or If-Match names an older version (concurrency-conflict)' },
      },
    }, async (ctx) => {
      const id = requireUuid(ctx.params.id, aggregate);
      const input = bodyOf(ctx) ?? (Object.keys(ctx.query).length ? { ...ctx.query } : undefined);
      const expectedVersion = ifMatchVersion(ctx.get('if-match'));
      const { state, body } = await services.db.transaction(async (tx) => {
        await requireVisible(ctx, tx, id);
        const { state } = await actors.execute<C>(aggregate, id, name, input, { tx, expectedVersion, causation: correlationOf(ctx) });
        return { state, body: await options.present(state, services, tx) };
      });
      ctx.type = HAL_JSON;
      ctx.set('ETag', `"${state.version}"`);
      ctx.body = body;
    });
  }

  route(router, {
    method: 'get',
    path: `${basePath}/:id/events`,
    operationId: `list${Aggregate}Events`,
    summary: `The ${aggregate}'s event log, oldest first`,
    tags,
    scope: 'read',
    perAccount,
    params: idParamsSchema,
    responses: {
      200: {
        description: 'Every event of the aggregate',
        schema: z
          .object({
            _links: linksSchema(['self', aggregate]),
            _embedded: z.object({ [`${aggregate}EventList`]: z.array(eventSchema) }).strict(),
          })
          .strict(),
      },
      404: { description: `No ${aggregate} with that id` },
    },
  }, async (ctx) => {
    const id = requireUuid(ctx.params.id, aggregate);
    await requireVisible(ctx, services.db, id);
    const events = await actors.events(aggregate, id);
    if (events.length === 0) throw new NotFoundError(`No ${aggregate} with id ${id}`);
    ctx.type = HAL_JSON;
    ctx.body = resource({}, { self: link(`${basePath}/${id}/events`), [aggregate]: link(`${basePath}/${id}`) }, {
      [`${aggregate}EventList`]: events.map((e) => eventResource(basePath, aggregate, e)),
    });
  });

  route(router, {
    method: 'get',
    path: `${basePath}/:id/events/:eventId`,
    operationId: `get${Aggregate}Event`,
    summary: `One event of the ${aggregate}`,
    tags,
    scope: 'read',
    perAccount,
    params: z.object({ id: idParamsSchema.shape.id, eventId: z.string().describe('The event id (a UUID; anything else is answered 404).') }),
    responses: {
      200: { description: 'The event', schema: eventSchema },
      404: { description: `No such ${aggregate}, or it has no such event` },
    },
  }, async (ctx) => {
    const id = requireUuid(ctx.params.id, aggregate);
    const eventId = requireUuid(ctx.params.eventId, `event of ${aggregate} ${id}`);
    await requireVisible(ctx, services.db, id);
    const event = await actors.event(aggregate, id, eventId);
    if (!event) throw new NotFoundError(`${aggregate} ${id} has no event ${eventId}`);
    ctx.type = HAL_JSON;
    ctx.body = eventResource(basePath, aggregate, event);
  });
}

/** The causation of a command that arrives over HTTP: the request's correlation id. */
export function correlationOf(ctx: Context): { correlationId: string; causationId: string } | undefined {
  const id = ctx.state.correlationId as string | undefined;
  return id ? { correlationId: id, causationId: id } : undefined;
}
