import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { RuntimeServices } from '../context';
import { NotFoundError, ServiceUnavailableError } from '../errors';
import { route, type ResponseSpec } from '../http/route-spec';
import { problemSchema } from '../http/openapi/schemas';
import { CONSOLE_DIST } from '../package-layout';

/** The console has not been built in this checkout: a 503 that says how to fix it. */
export class ConsoleNotBuiltError extends ServiceUnavailableError {
  override readonly slug = 'console-not-built';
  constructor() {
    super('The console is not built: run `npm run build:console` (npm start does it first)');
  }
}

/** Only the names the build writes (`app-<hash>.js`); never a path that climbs out. */
const assetName = (ext: string) => new RegExp(`^[A-Za-z0-9_-]+\\.${ext}$`);

const notBuilt: ResponseSpec = { description: 'The console has not been built (`npm run build:console`)', schema: problemSchema };
const fileParams = z.object({ file: z.string().describe("A file name the build wrote, with its content hash: app-<hash>.js") });

/** Answers one built file, or the reason there is none: 404 for an unknown name, 503 when nothing is built. */
async function sendBuilt(ctx: Context, dist: string, relative: string, contentType: string, cacheControl: string): Promise<void> {
  const body = await readFile(path.join(dist, relative)).catch(async () => {
    const built = await readFile(path.join(dist, 'index.html')).then(() => true, () => false);
    throw built ? new NotFoundError(`No console file ${relative}`) : new ConsoleNotBuiltError();
  });
  ctx.set('Cache-Control', cacheControl);
  ctx.type = contentType;
  ctx.body = body;
}

/**
 * Serves the built console (dist/console, see build.ts): `GET /console` is the page (never
 * cached: it names the current bundles), `/console/assets/{file}` and `/console/styles/{file}`
 * the content-hashed script and stylesheet (cached for a year, immutable). The console
 * routes by the URL's hash, so no other path needs a fallback to the page. Before a build,
 * each answers 503 `console-not-built`.
 */
export function mountConsole(router: Router, _services: RuntimeServices, dist: string = CONSOLE_DIST): void {
  route(router, {
    method: 'get',
    path: '/console',
    operationId: 'getConsole',
    summary: 'The browser console (an HTML page)',
    tags: ['Console'],
    scope: 'public',
    responses: { 200: { description: 'The console page', schema: z.string(), contentType: 'text/html' }, 503: notBuilt },
  }, (ctx) => sendBuilt(ctx, dist, 'index.html', 'text/html; charset=utf-8', 'no-cache'));

  for (const [kind, ext, contentType] of [['assets', 'js', 'text/javascript'], ['styles', 'css', 'text/css']] as const) {
    route(router, {
      method: 'get',
      path: `/console/${kind}/:file`,
      operationId: kind === 'assets' ? 'getConsoleScript' : 'getConsoleStylesheet',
      summary: `The console's ${kind === 'assets' ? 'script' : 'stylesheet'} (content-hashed name)`,
      tags: ['Console'],
      scope: 'public',
      params: fileParams,
      responses: {
        200: { description: `The ${ext} file; cached for a year (its name changes with its content)`, schema: z.string(), contentType, headers: { 'Cache-Control': 'public, max-age=31536000, immutable' } },
        404: { description: 'No such file in the build', schema: problemSchema },
        503: notBuilt,
      },
    }, async (ctx) => {
      const file = ctx.params.file;
      if (!assetName(ext).test(file)) throw new NotFoundError(`No console file ${kind}/${file}`);
      await sendBuilt(ctx, dist, `${kind}/${file}`, `${contentType}; charset=utf-8`, 'public, max-age=31536000, immutable');
    });
  }
}
