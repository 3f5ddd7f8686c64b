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
