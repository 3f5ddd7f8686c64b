/**
 * The console's only way to the API: same-origin fetch, HAL+JSON in, problem+json errors
 * turned into {@link ApiError} with the problem's `message`. An unreachable API is an
 * ApiError too (status 0), so every view shows one kind of failure.
 */
import type { JsonSchema } from './schema';

export type { JsonSchema };

export interface Link {
  href: string;
  templated?: boolean;
  title?: string;
}

export type Links = Record<string, Link | Link[]>;

/** A HAL resource as the console reads it: any fields, `_links`, maybe `_embedded` and `_templates`. */
export interface Resource {
  _links?: Links;
  _embedded?: Record<string, Resource[] | Resource>;
  _templates?: Record<string, Template>;
  [field: string]: unknown;
}

/** A HAL-FORMS template (`_templates.<name>`), with the input's JSON Schema. */
export interface Template {
  title?: string;
  method?: string;
  target?: string;
  contentType?: string;
  properties?: { name: string; type?: string; required?: boolean; regex?: string; min?: number; max?: number; options?: unknown }[];
  schema?: JsonSchema;
}

export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly problem?: Record<string, unknown>) {
    super(message);
  }
  /** Worth retrying by itself: the API is away, overloaded, or the resource may yet appear. */
  get transient(): boolean {
    return this.status === 0 || this.status >= 500 || this.status === 404;
  }
}

export interface ApiResponse<T = Resource> {
  status: number;
  body: T;
  headers: Headers;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * Dispatched on `window` when the API answers 401: the console then asks for an API key
 * (components/sign-in.tsx). Views keep their own error too.
 */
export const UNAUTHORIZED_EVENT = 'tributary:unauthorized';

/**
 * Calls the API; resolves for 2xx, rejects with {@link ApiError} otherwise. Every request
 * carries `X-Requested-With: tributary-console`: the API refuses a write authenticated by the
 * session cookie without it (a cross-site form cannot add it; docs/security.md).
 */
export async function request<T = Resource>(href: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = {
    Accept: 'application/hal+json, application/json, application/problem+json',
    'X-Requested-With': 'tributary-console',
    ...options.headers,
  };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(href, {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
      cache: 'no-store',
      credentials: 'same-origin',
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'The API is not reachable (network error); retrying');
  }
  const text = await res.text().catch(() => '');
  let body: unknown = undefined;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  if (res.status === 401) window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
  if (!res.ok) {
    const problem = body && typeof body === 'object' ? (body as Record<string, unknown>) : undefined;
    const message = String(problem?.message ?? problem?.detail ?? problem?.title ?? `${res.status} ${res.statusText || 'error'}`);
    throw new ApiError(res.status, message, problem);
  }
  return { status: res.status, body: body as T, headers: res.headers };
}

/** The first link of a rel (HAL allows an array). */
export function linkOf(resource: Resource | undefined, rel: string): Link | undefined {
  const l = resource?._links?.[rel];
  return Array.isArray(l) ? l[0] : l;
}

/** The `_embedded` list of a collection, whatever its `<type>List` name. */
export function embeddedList(resource: Resource | undefined): Resource[] {
  const embedded = resource?._embedded ?? {};
  for (const value of Object.values(embedded)) if (Array.isArray(value)) return value;
  return [];
}

export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));
