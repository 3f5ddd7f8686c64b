import type Router from '@koa/router';
import type { Context } from 'koa';
import { ZodObject } from 'zod';
import type { RuntimeServices } from '../context';
import type { Queryable } from '../store/database';
import type { AggregateState } from '../actors/aggregate';
import type { StoredEvent } from '../store/event-store';
import { NotFoundError, ValidationError } from '../errors';
import { HAL_JSON, link, resource, type Links } from './hal';
import { bodyOf } from './json-body';

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
}

/** `If-Match: "3"` (or `3`) → expected version 3; absent → no check; anything else → 400. */
export function ifMatchVersion(header: string): number | undefined {
  if (!header) return undefined;
  const v = Number(header.replace(/^W\//, '').replace(/"/g, ''));
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

  router.get(`${basePath}/:id/commands`, async (ctx) => {
    const id = requireUuid(ctx.params.id, aggregate);
    const state = await actors.get(aggregate, id);
    const links: Links = { self: link(`${basePath}/${id}/commands`), [aggregate]: link(`${basePath}/${id}`) };
    for (const name of actors.allowedCommands(aggregate, state)) {
      const schema = definition.commands[name]?.input;
      const params = schema instanceof ZodObject ? Object.keys(schema.shape) : [];
      links[name] = params.length
        ? link(`${basePath}/${id}/commands/${name}{?${params.join(',')}}`, { templated: true })
        : link(`${basePath}/${id}/commands/${name}`);
    }
    ctx.type = HAL_JSON;
    ctx.body = { status: state.status, version: state.version, _links: links };
  });

  router.post(`${basePath}/:id/commands/:command`, async (ctx, next) => {
    const name = ctx.params.command;
    const spec = definition.commands[name];
    // Another context may offer a command on this resource (orders: postOrder on an account).
    if (!spec || spec.public === false || spec.creates) return next();
    const id = requireUuid(ctx.params.id, aggregate);
    const input = bodyOf(ctx) ?? (Object.keys(ctx.query).length ? { ...ctx.query } : undefined);
    const expectedVersion = ifMatchVersion(ctx.get('if-match'));
    const { state, body } = await services.db.transaction(async (tx) => {
      const { state } = await actors.execute<C>(aggregate, id, name, input, { tx, expectedVersion, causation: correlationOf(ctx) });
      return { state, body: await options.present(state, services, tx) };
    });
    ctx.type = HAL_JSON;
    ctx.set('ETag', `"${state.version}"`);
    ctx.body = body;
  });

  router.get(`${basePath}/:id/events`, async (ctx) => {
    const id = requireUuid(ctx.params.id, aggregate);
    const events = await actors.events(aggregate, id);
    if (events.length === 0) throw new NotFoundError(`No ${aggregate} with id ${id}`);
    ctx.type = HAL_JSON;
    ctx.body = resource({}, { self: link(`${basePath}/${id}/events`), [aggregate]: link(`${basePath}/${id}`) }, {
      [`${aggregate}EventList`]: events.map((e) => eventResource(basePath, aggregate, e)),
    });
  });

  router.get(`${basePath}/:id/events/:eventId`, async (ctx) => {
    const id = requireUuid(ctx.params.id, aggregate);
    const eventId = requireUuid(ctx.params.eventId, `event of ${aggregate} ${id}`);
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
