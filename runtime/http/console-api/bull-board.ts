import type { Middleware } from 'koa';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { KoaAdapter } from '@bull-board/koa';
import type { ContextPlugin, RuntimeServices } from '../../context';

/** Where Bull Board is served (the console links to it from `/v1/ops`). */
export const QUEUES_PATH = '/console/queues';

/**
 * Bull Board over the runtime's BullMQ queues (every queue a loaded context processes jobs
 * on), served from the package's own assets (no CDN). `@bull-board/koa` 9.10 is built for
 * Koa 3 and @koa/router 15: it mounts a Koa app of its own (views, static files, its JSON API)
 * under {@link QUEUES_PATH}, so it answers before the API router and never reaches it.
 * Operators only (scope `ops`).
 */
export function bullBoard(services: RuntimeServices, plugins: readonly ContextPlugin[]): Middleware {
  const names = [...new Set(plugins.flatMap((p) => (p.jobs ?? []).map((j) => j.queue)))];
  const serverAdapter = new KoaAdapter();
  serverAdapter.setBasePath(QUEUES_PATH);
  createBullBoard({
    queues: names.map((name) => new BullMQAdapter(services.jobs.queue(name), { readOnlyMode: false })),
    // @bull-board/koa 9.10.1 carries its own copy of @bull-board/api 9.10.1 (we have 9.10.2):
    // the same adapter interface, declared twice, so the types need telling.
    serverAdapter: serverAdapter as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'],
    options: { uiConfig: { boardTitle: 'Tributary queues' } },
  });
  const board = serverAdapter.registerPlugin() as unknown as Middleware;
  // Its page asks for Google Fonts: nothing comes from a CDN here (the Content-Security-Policy
  // would refuse it, an error in the browser's console), so the link goes; it uses system fonts.
  return async (ctx, next) => {
    await board(ctx, next);
    if (ctx.path.startsWith(QUEUES_PATH) && typeof ctx.body === 'string' && ctx.response.is('html')) ctx.body = ctx.body.replace(GOOGLE_FONTS, '');
  };
}

const GOOGLE_FONTS = /<link[^>]*https:\/\/fonts\.googleapis\.com\/[^>]*>\s*/g;
