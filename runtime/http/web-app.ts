import Koa from 'koa';
import Router from '@koa/router';
import { z } from 'zod';
import type { ContextPlugin, RuntimeServices } from '../context';
import { errorHandler } from './problem';
import { jsonBody } from './json-body';
import { refuseProbeMethods, requestLog, requestTimeout, singleQueryValues, traceRequests } from './middleware';
import { rateLimit } from './rate-limit';
import { mountHealth, type Lifecycle } from './health';
import { mountMetrics } from '../metrics/route';
import { mountOpsRoutes } from './ops-routes';
import { HAL_JSON, link, type Links } from './hal';
import { declaredBy, route, undeclaredRoutes } from './route-spec';
import { linksSchema } from './openapi/schemas';
import { mountOpenApi } from './openapi/routes';
import { mountConsole } from '../console/serve';
import { bullBoard, consoleLinks, mountConsoleApi } from './console-api';
import { corsFor, securityHeaders } from './security-headers';
import { QUEUES_PATH } from './console-api/bull-board';
import { attachAuthenticator, authGuard, mountSessionRoutes, type Authenticator } from '../auth';

/**
 * The web role's Koa app: middleware, health, the `GET /v1` entry point and every context's
 * routes. With `api` false (worker role alone) it serves the health endpoints and `/metrics` only.
 * `auth` guards every route by its spec's scope (docs/security.md); without it (an app built
 * alone in a test) nothing is checked.
 */
export function createWebApp(services: RuntimeServices, plugins: ContextPlugin[], lifecycle: Lifecycle, api = true, auth?: Authenticator): Koa {
  const app = new Koa();
  app.proxy = true;
  const router = buildRouter(services, plugins, lifecycle, api);
  for (const r of undeclaredRoutes(router)) services.log.warn({ route: r }, `route without schemas: ${r} is served but not in the API document (declare it with route())`);

  app.use(requestLog(services.log));
  // Ahead of the error handler, so problem responses (and preflights) carry them too.
  app.use(securityHeaders());
  const corsMiddleware = corsFor(services.config.cors);
  if (corsMiddleware) app.use(corsMiddleware);
  app.use(errorHandler(services.log));
  // Input no route should ever see: 405 for TRACE/TRACK/CONNECT, 400 for a repeated query parameter.
  app.use(refuseProbeMethods());
  app.use(singleQueryValues());
  app.use(traceRequests());
  app.use(requestTimeout(services.config.http.requestTimeoutMs));
  app.use(jsonBody(services.config.http.bodyLimitBytes));
  // One guard for every route, from the matched route's spec; ahead of Bull Board, which needs ops.
  if (auth) {
    attachAuthenticator(services, auth);
    app.use(authGuard(auth, router, api ? [{ prefix: QUEUES_PATH, scope: 'ops' }] : []));
  }
  // After the guard: an authenticated request counts against its credential, others against their address.
  app.use(rateLimit(services.redis, services.config.redisPrefix, services.config.rateLimit));
  // Bull Board (operators) is a Koa app of its own under /console/queues, ahead of the router.
  if (api) app.use(bullBoard(services, plugins));
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

/**
 * Every route of the web role on one router: health, then (with `api`) the entry point, the
 * operator routes, each context's routes and the API document. The API document generator
 * builds the same router (`openapi/generate.ts`), so mounting must not touch Postgres or Redis.
 */
export function buildRouter(services: RuntimeServices, plugins: ContextPlugin[], lifecycle: Lifecycle, api = true): Router {
  const router = new Router();
  mountHealth(router, services.db, services.redis, lifecycle);
  // Every process serves its metrics, a worker alone on its health port.
  mountMetrics(router, services);
  if (api) mountApi(router, services, plugins);
  return router;
}

function mountApi(router: Router, services: RuntimeServices, plugins: ContextPlugin[]): void {
  route(router, {
    method: 'get',
    path: '/v1',
    operationId: 'getEntryPoint',
    summary: 'The entry point: a link to every collection, the operator resources and the API document',
    tags: ['Entry point'],
    scope: 'public',
    responses: {
      200: {
        description: 'The loaded contexts and their collections (rels come from the contexts, so any rel may appear)',
        schema: z
          .object({ name: z.literal('tributary'), contexts: z.array(z.string()), _links: linksSchema(['self', 'describedby', 'deadLetters', 'partitions'], [], true) })
          .strict(),
      },
    },
  }, (ctx) => {
    const links: Links = { self: link('/v1'), describedby: link('/v1/openapi.json', { title: 'The OpenAPI 3.1 document of this API' }) };
    for (const p of plugins) for (const [rel, href] of Object.entries(p.collections ?? {})) links[rel] = link(href, { templated: href.includes('{') || undefined });
    links.deadLetters = link('/v1/ops/dead-letters');
    links.partitions = link('/v1/ops/partitions');
    Object.assign(links, consoleLinks(plugins));
    ctx.type = HAL_JSON;
    ctx.body = { name: 'tributary', contexts: plugins.map((p) => p.name), _links: links };
  });
  route(router, {
    method: 'get',
    path: '/',
    operationId: 'getRoot',
    summary: 'Redirects to the console',
    tags: ['Entry point'],
    scope: 'public',
    // Koa writes a short note in the body, as text or HTML after the client's Accept.
    responses: { 302: { description: 'To /console', headers: { Location: '/console' }, contentType: '*/*' } },
  }, (ctx) => {
    ctx.redirect('/console');
  });
  mountSessionRoutes(router, services);
  mountOpsRoutes(router, services, plugins);
  mountConsoleApi(router, services, plugins);
  for (const p of plugins) declaredBy(router, p.name, () => p.routes?.(router, services));
  mountConsole(router, services);
  // Last: the document lists whatever was declared above, including contexts from outside the repository.
  mountOpenApi(router, plugins);
}
