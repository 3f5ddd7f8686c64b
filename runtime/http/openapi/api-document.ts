import type { ContextPlugin } from '../../context';
import type { RouteSpec } from '../route-spec';
import { buildDocument } from './document';

/** The version of the API contract (the `/v1` of its paths), not of the package. */
export const API_VERSION = '1.0.0';

/** Tributary's API document for these routes, served by a web role that loaded `plugins`. */
export function apiDocument(specs: readonly RouteSpec[], plugins: readonly ContextPlugin[]): Record<string, unknown> {
  return buildDocument(specs, {
    title: 'Tributary',
    version: API_VERSION,
    description: [
      'The HTTP API of a Tributary web role: HAL+JSON resources (`_links`, `_embedded`), paged collections',
      '(`?page&size`, zero-based), commands as links of a resource\'s commands resource, optimistic',
      'concurrency with `ETag`/`If-Match`, and RFC 9457 problem documents (`application/problem+json`) for every error.',
      `Contexts: ${plugins.map((p) => p.name).join(', ') || 'none'}.`,
      'Generated from the zod schemas the routes validate with (docs/api.md).',
    ].join(' '),
  });
}
