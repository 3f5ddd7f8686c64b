import type Router from '@koa/router';
import { z } from 'zod';
import type { ContextPlugin, RuntimeServices } from '../../context';
import type { AggregateDefinition } from '../../actors/aggregate';
import { NotFoundError } from '../../errors';
import { HAL_JSON, link, type Links } from '../hal';
import { route } from '../route-spec';
import { basePathOf } from './aggregate-paths';
import { machineModel } from './machine-model';
import { machineListSchema, machineSchema } from './schemas';

const TAGS = ['Console'];

/**
 * The collection template of an aggregate type: the context's `collections` entry for the
 * path its routes were mounted at (`/v1/orders{?page,size,accountId,status}`), else the path
 * with the paging and status parameters every collection takes.
 */
export function collectionTemplate(plugins: readonly ContextPlugin[], basePath: string): string {
  for (const p of plugins) {
    for (const href of Object.values(p.collections ?? {})) if (href.split('{')[0] === basePath) return href;
  }
  return `${basePath}{?page,size,status}`;
}

/** The body of `GET /v1/machines/{type}`. */
export function machineResource(services: RuntimeServices, plugins: readonly ContextPlugin[], def: AggregateDefinition) {
  const { finalEvents: _finalEvents, ...model } = machineModel(def);
  const links: Links = { self: link(`/v1/machines/${def.type}`) };
  const base = basePathOf(services.actors, def.type);
  if (base) {
    links.collection = link(collectionTemplate(plugins, base), { templated: true });
    links.item = link(`${base}/{id}`, { templated: true });
  }
  return { ...model, _links: links };
}

/** Every registered aggregate type, in the order the contexts registered them. */
export function registeredAggregates(plugins: readonly ContextPlugin[]): AggregateDefinition[] {
  return plugins.flatMap((p) => p.aggregates ?? []);
}

/** `GET /v1/machines` and `GET /v1/machines/{type}`: the state machines the console draws. */
export function mountMachineRoutes(router: Router, services: RuntimeServices, plugins: readonly ContextPlugin[]): void {
  route(router, {
    method: 'get',
    path: '/v1/machines',
    operationId: 'listMachines',
    summary: 'Every aggregate type with its state machine',
    description: 'States, transitions (with guard names and the commands that ask for each event), commands and compensations, read from the xstate definitions.',
    tags: TAGS,
    scope: 'read',
    responses: { 200: { description: 'The machines', schema: machineListSchema } },
  }, (ctx) => {
    ctx.type = HAL_JSON;
    ctx.body = {
      _links: { self: link('/v1/machines') },
      _embedded: { machineList: registeredAggregates(plugins).map((d) => machineResource(services, plugins, d)) },
    };
  });

  route(router, {
    method: 'get',
    path: '/v1/machines/:type',
    operationId: 'getMachine',
    summary: "One aggregate type's state machine",
    tags: TAGS,
    scope: 'read',
    params: z.object({ type: z.string().describe('The aggregate type, e.g. `account`') }),
    responses: { 200: { description: 'The machine', schema: machineSchema }, 404: { description: 'No aggregate type of that name' } },
  }, (ctx) => {
    const def = registeredAggregates(plugins).find((d) => d.type === ctx.params.type);
    if (!def) throw new NotFoundError(`No aggregate type ${ctx.params.type}`);
    ctx.type = HAL_JSON;
    ctx.body = machineResource(services, plugins, def);
  });
}
