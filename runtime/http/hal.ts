import { z } from 'zod';
import { validate } from '../validation';

/** HAL+JSON helpers: links, resources, paged collections. */
export const HAL_JSON = 'application/hal+json';

export interface Link {
  href: string;
  templated?: boolean;
  title?: string;
}

export type Links = Record<string, Link>;

export const link = (href: string, extra: Omit<Link, 'href'> = {}): Link => ({ href, ...extra });

/** A HAL resource: the data, `_links` and optional `_embedded`. */
export function resource<T extends object>(data: T, links: Links, embedded?: Record<string, unknown>): T & { _links: Links; _embedded?: Record<string, unknown> } {
  return embedded ? { ...data, _links: links, _embedded: embedded } : { ...data, _links: links };
}

export interface PageRequest {
  /** Zero-based page number, as in the seed's Spring Data pages. */
  page: number;
  size: number;
}

/** `?page&size`: what `pageRequest` validates, and what routes declare as their paging query. */
export const pageQuerySchema = z.object({
  page: z.coerce.number().int().min(0, 'page must be 0 or more').default(0).describe('Zero-based page number'),
  size: z.coerce.number().int().min(1, 'size must be at least 1').max(200, 'size must be at most 200').default(20).describe('Items per page'),
});

/** `?page&size` from a query string, validated (400 on nonsense). */
export function pageRequest(query: Record<string, unknown>): PageRequest {
  return validate(pageQuerySchema, { page: query.page, size: query.size });
}

/**
 * A paged collection: `_embedded.<rel>List`, `page{number,size,totalElements,totalPages}` and
 * `self/first/last/next/prev` links that keep the other query parameters.
 */
export function pagedCollection(
  path: string,
  rel: string,
  items: unknown[],
  request: PageRequest,
  totalElements: number,
  params: Record<string, string | undefined> = {},
) {
  const totalPages = Math.max(1, Math.ceil(totalElements / request.size));
  const href = (page: number) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v);
    q.set('page', String(page));
    q.set('size', String(request.size));
    return `${path}?${q.toString()}`;
  };
  const links: Links = {
    self: link(href(request.page)),
    first: link(href(0)),
    last: link(href(totalPages - 1)),
  };
  if (request.page + 1 < totalPages) links.next = link(href(request.page + 1));
  if (request.page > 0) links.prev = link(href(Math.min(request.page - 1, totalPages - 1)));
  return {
    _links: links,
    _embedded: { [`${rel}List`]: items },
    page: { number: request.page, size: request.size, totalElements, totalPages },
  };
}
