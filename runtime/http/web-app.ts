import Koa from 'koa';
import Router from '@koa/router';
import type { ContextPlugin, RuntimeServices } from '../context';
import { errorHandler } from './problem';
import { jsonBody } from './json-body';
import { requestLog, requestTimeout, traceRequests } from './middleware';
import { mountHealth, type Lifecycle } from './health';
import { mountOpsRoutes } from './ops-routes';
import { HAL_JSON, link, type Links } from './hal';

/**
 * The web role's Koa app: middleware, health, the `GET /v1` entry point and every context's
 * routes. With `api` false (worker role alone) it serves the health endpoints only.
 */
export function createWebApp(services: RuntimeServices, plugins: ContextPlugin[], lifecycle: Lifecycle, api = true): Koa {
  const app = new Koa();
  app.proxy = true;
  const router = new Router();

  mountHealth(router, services.db, services.redis, lifecycle);
  if (api) mountApi(router, services, plugins);

  app.use(requestLog(services.log));
  app.use(errorHandler(services.log));
  app.use(traceRequests());
  app.use(requestTimeout(services.config.http.requestTimeoutMs));
  app.use(jsonBody(services.config.http.bodyLimitBytes));
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

function mountApi(router: Router, services: RuntimeServices, plugins: ContextPlugin[]): void {
  router.get('/v1', (ctx) => {
    const links: Links = { self: link('/v1') };
    for (const p of plugins) for (const [rel, href] of Object.entries(p.collections ?? {})) links[rel] = link(href, { templated: href.includes('{') || undefined });
    links.deadLetters = link('/v1/ops/dead-letters');
    links.partitions = link('/v1/ops/partitions');
    ctx.type = HAL_JSON;
    ctx.body = { name: 'tributary', contexts: plugins.map((p) => p.name), _links: links };
  });
  mountOpsRoutes(router, services, plugins);
  for (const p of plugins) p.routes?.(router, services);
}
