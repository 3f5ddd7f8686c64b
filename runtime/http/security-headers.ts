import type { Middleware } from 'koa';
import helmet from 'koa-helmet';
import cors from '@koa/cors';
import type { Config } from '../config';

/**
 * The Content-Security-Policy of every response: nothing from another origin (no CDN), no
 * inline or evaluated script, no inline style. What the pages served here need, and no more:
 * - `img-src data:`: the console's empty favicon and Swagger UI's icons are data: URIs.
 * - `frame-ancestors 'self'`: the console shows Bull Board in a frame of its own origin.
 * No `upgrade-insecure-requests` (helmet's default): a deployment reached over plain HTTP
 * inside a cluster would have its scripts and styles rewritten to https and broken.
 * (Bull Board's page asks for Google Fonts: console-api/bull-board.ts drops that link.)
 */
export const CONTENT_SECURITY_POLICY = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    baseUri: ["'self'"],
    connectSrc: ["'self'"],
    fontSrc: ["'self'", 'data:'],
    formAction: ["'self'"],
    frameAncestors: ["'self'"],
    imgSrc: ["'self'", 'data:'],
    objectSrc: ["'none'"],
    scriptSrc: ["'self'"],
    scriptSrcAttr: ["'none'"],
    styleSrc: ["'self'"],
  },
};

/**
 * Pages of third-party UIs that set inline styles: Bull Board (an inline `<style>` block) and
 * Swagger UI (style attributes in markup it renders). They get `style-src 'unsafe-inline'`;
 * styles cannot run code, and their scripts stay `'self'` only. The console needs nothing inline.
 */
const INLINE_STYLE_PAGES = ['/console/queues', '/v1/docs'];

const underAny = (path: string, prefixes: readonly string[]) => prefixes.some((p) => path === p || path.startsWith(`${p}/`));

/** Security headers on every response: helmet's defaults, with the policy above. */
export function securityHeaders(): Middleware {
  const strict = helmet({ contentSecurityPolicy: CONTENT_SECURITY_POLICY });
  const inlineStyles = helmet({
    contentSecurityPolicy: { ...CONTENT_SECURITY_POLICY, directives: { ...CONTENT_SECURITY_POLICY.directives, styleSrc: ["'self'", "'unsafe-inline'"] } },
  });
  return (ctx, next) => (underAny(ctx.path, INLINE_STYLE_PAGES) ? inlineStyles : strict)(ctx, next);
}

/** Headers a browser client may send, and those of our responses it may read. */
export const CORS_ALLOW_HEADERS = ['Authorization', 'Content-Type', 'If-Match', 'Last-Event-ID'];
export const CORS_EXPOSE_HEADERS = ['ETag', 'Location', 'Retry-After'];

/**
 * CORS for the origins of `CORS_ORIGINS` (config.ts validates them): a listed origin gets
 * `Access-Control-Allow-Origin` with its own value, any other origin gets no CORS header (its
 * browser then refuses to hand the response to the page). Undefined when none is configured:
 * no middleware, no CORS headers.
 */
export function corsFor(settings: Config['cors']): Middleware | undefined {
  if (settings.origins.length === 0) return undefined;
  const any = settings.origins.includes('*');
  const allowed = new Set(settings.origins);
  return cors({
    // Returning '' leaves the response without CORS headers (@koa/cors skips them).
    origin: (ctx) => (any ? '*' : allowed.has(ctx.get('Origin')) ? ctx.get('Origin') : ''),
    credentials: settings.credentials,
    allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowHeaders: CORS_ALLOW_HEADERS,
    exposeHeaders: CORS_EXPOSE_HEADERS,
    maxAge: 600,
  });
}
