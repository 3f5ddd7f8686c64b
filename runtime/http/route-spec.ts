import type Router from '@koa/router';
import type { Middleware } from 'koa';
import type { ZodType } from 'zod';

/**
 * Who may call a route. Declared on every route so that authentication and the API document
 * read it from one place: `public` (health, the entry point, documentation), `read`, `write`
 * or `ops` (operators: dead letters, partitions, queues).
 */
export type RouteScope = 'public' | 'read' | 'write' | 'ops';

export type HttpMethod = 'get' | 'post' | 'put' | 'delete';

/** One documented response of a route. */
export interface ResponseSpec {
  description: string;
  /** The body's schema; omitted for a response without a body (204, a redirect). */
  schema?: ZodType;
  /** Defaults to `application/hal+json` for 2xx with a schema, `application/problem+json` for 4xx/5xx. */
  contentType?: string;
  /** Response headers it sets (`ETag`, `Location`, `Retry-After`), name → description. */
  headers?: Record<string, string>;
}

/**
 * A route as the API document describes it: the same zod schemas that validate the request
 * are the ones the document is generated from, so the two cannot drift.
 */
export interface RouteSpec {
  method: HttpMethod;
  /** Koa path syntax: `/v1/accounts/:id`. */
  path: string;
  /** Unique across the API, camelCase: `getAccount`. */
  operationId: string;
  summary: string;
  description?: string;
  /** Groups operations in the document; defaults to the context (or `runtime`). */
  tags?: string[];
  scope: RouteScope;
  /**
   * The handler limits what it reads and writes to the request's account access
   * (`accessOf(ctx)`): a credential bound to one account may call it. Without it, such a
   * credential is answered 403 (docs/security.md).
   */
  perAccount?: boolean;
  params?: ZodType;
  query?: ZodType;
  body?: ZodType;
  /** Request headers the route reads (`If-Match`), name → schema. */
  headers?: Record<string, ZodType>;
  responses: Record<number, ResponseSpec>;
}

/** The specs declared on each router, in declaration order. */
const declared = new WeakMap<Router, RouteSpec[]>();

/**
 * Mounts `handlers` on `router` under `spec.method` and `spec.path`, and records the spec for
 * the API document. Every route of the web role goes through here; one that does not is
 * reported at start-up as undocumented.
 */
export function route(router: Router, spec: RouteSpec, ...handlers: Middleware[]): void {
  let specs = declared.get(router);
  if (!specs) declared.set(router, (specs = []));
  specs.push(spec);
  (router[spec.method] as (path: string, ...m: Middleware[]) => Router)(spec.path, ...handlers);
}

/** The routes declared on `router` so far. */
export function declaredRoutes(router: Router): readonly RouteSpec[] {
  return declared.get(router) ?? [];
}

/** Which context declared a spec (the document's default tag); routes of the runtime have none. */
const owners = new WeakMap<RouteSpec, string>();

/** Runs `mount` (a context's `routes`) and records `context` as the owner of what it declares. */
export function declaredBy(router: Router, context: string, mount: () => void): void {
  const before = declaredRoutes(router).length;
  mount();
  for (const spec of declaredRoutes(router).slice(before)) owners.set(spec, context);
}

/** The context that declared `spec`, if a context did. */
export const ownerOf = (spec: RouteSpec): string | undefined => owners.get(spec);

/**
 * Routes mounted on `router` without a spec (`router.get(...)` instead of `route(...)`):
 * they work, but the API document cannot describe them. `METHOD path` each.
 */
export function undeclaredRoutes(router: Router): string[] {
  const declaredKeys = new Set(declaredRoutes(router).map((s) => `${s.method.toUpperCase()} ${s.path}`));
  const found: string[] = [];
  for (const layer of router.stack as { methods: string[]; path: string | RegExp }[]) {
    for (const method of layer.methods) {
      if (method === 'HEAD') continue; // added by the router for every GET
      const key = `${method} ${String(layer.path)}`;
      if (!declaredKeys.has(key) && !found.includes(key)) found.push(key);
    }
  }
  return found;
}
