import { z, type ZodType } from 'zod';

/**
 * The shapes every route shares, as zod schemas: a HAL link, a resource's `_links`, a paged
 * collection and the problem document. Routes use them in their `responses`, and the API
 * document names them (`components/schemas`) through their `id`.
 */

/** One HAL link. */
export const halLinkSchema = z
  .object({
    href: z.string(),
    templated: z.boolean().optional(),
    title: z.string().optional(),
  })
  .meta({ id: 'HalLink', description: 'A HAL link; `templated` when `href` is an RFC 6570 URI template.' });

/**
 * A resource's `_links`: the rels it always has, the ones it may have, and (with `open`) any
 * other rel, for resources whose rels are data (a commands resource lists allowed commands).
 */
export function linksSchema(required: readonly string[], optional: readonly string[] = [], open = false) {
  const shape: Record<string, ZodType> = {};
  for (const rel of required) shape[rel] = halLinkSchema;
  for (const rel of optional) shape[rel] = halLinkSchema.optional();
  const links = z.object(shape);
  return open ? links.catchall(halLinkSchema) : links.strict();
}

/** `page` of a paged collection (zero-based `number`, as in Spring Data). */
export const pageMetadataSchema = z
  .object({
    number: z.number().int().min(0),
    size: z.number().int().min(1),
    totalElements: z.number().int().min(0),
    totalPages: z.number().int().min(1),
  })
  .meta({ id: 'PageMetadata' });

/**
 * The body of a paged collection: `_embedded.<rel>List`, `page` and the paging links
 * (`self`, `first`, `last`, and `next`/`prev` where there is such a page), plus `extraLinks`
 * and `extra` fields when a route adds some.
 */
export function pagedCollectionSchema(rel: string, item: ZodType, options: { extraLinks?: string[]; extra?: Record<string, ZodType> } = {}) {
  return z
    .object({
      ...options.extra,
      _links: linksSchema(['self', 'first', 'last', ...(options.extraLinks ?? [])], ['next', 'prev']),
      _embedded: z.object({ [`${rel}List`]: z.array(item) }).strict(),
      page: pageMetadataSchema,
    })
    .strict();
}

/** An issue of a 400: the field's dotted path and what is wrong with it. */
export const fieldIssueSchema = z.object({ path: z.string(), message: z.string() }).meta({ id: 'FieldIssue' });

/**
 * An RFC 9457 problem document (`application/problem+json`) with `message` (equal to
 * `detail`); extensions: `errors` (400), `command` and `currentStatus` (409 of a command).
 */
export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int().min(400).max(599),
    detail: z.string(),
    message: z.string(),
    instance: z.string().optional(),
    errors: z.array(fieldIssueSchema).optional(),
  })
  .catchall(z.unknown())
  .meta({ id: 'Problem' });

/** An ISO 8601 timestamp as the API writes it (`Date.toISOString()`). */
export const timestampSchema = z.iso.datetime();

/** An id path parameter. Not constrained to a UUID here: an id that is not one is a 404, not a 400. */
export const idParamsSchema = z.object({ id: z.string().describe('The resource id (a UUID; anything else is answered 404).') });
