import type Router from '@koa/router';
import { z } from 'zod';
import { bodyOf } from '../json-body';
import { validate } from '../../validation';
import type { ContextPlugin, RuntimeServices } from '../../context';
import { HAL_JSON, link, type Links } from '../hal';
import { route } from '../route-spec';
import { demoSchema } from './schemas';

/** The demo takes no input: an empty object at most. */
const noInput = z.object({}).strict().optional();

/** Whether some loaded context can seed a demo (then `GET /v1` links to `POST /v1/demo`). */
export const offersDemo = (plugins: readonly ContextPlugin[]) => plugins.some((p) => p.demo);

/**
 * `POST /v1/demo`: each context that declares `demo(services)` seeds what it wants through its
 * own commands (accounts: an account its worker activates; warehouse: a stocked warehouse) and
 * says what it created (rel → href). Takes no input.
 */
export function mountDemoRoutes(router: Router, services: RuntimeServices, plugins: readonly ContextPlugin[]): void {
  route(router, {
    method: 'post',
    path: '/v1/demo',
    operationId: 'seedDemo',
    summary: 'Seeds demo data through the contexts\' own commands',
    description: 'Each loaded context with a demo creates its part (an account, a warehouse with stock); the answer links to what was created.',
    tags: ['Console'],
    scope: 'write',
    body: noInput,
    responses: { 201: { description: 'What was created, as links', schema: demoSchema } },
  }, async (ctx) => {
    validate(noInput, bodyOf(ctx));
    const links: Links = {};
    const seeded: string[] = [];
    // In dependency order, one after the other: a context's demo may use what an earlier one made.
    for (const p of plugins) {
      if (!p.demo) continue;
      for (const [rel, href] of Object.entries(await p.demo(services))) links[rel] = link(href);
      seeded.push(p.name);
    }
    ctx.status = 201;
    ctx.type = HAL_JSON;
    ctx.body = { contexts: seeded, _links: links };
  });
}
