import type { Context, Next } from 'koa';
import { PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from '../errors';

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

async function readBody(ctx: Context, limit: number): Promise<string> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) throw new PayloadTooLargeError(`Request body of ${declared} bytes exceeds the limit of ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new PayloadTooLargeError(`Request body exceeds the limit of ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Parses JSON request bodies into `ctx.request.body`: 415 for another media type, 413 past
 * the limit, 400 for malformed JSON. An empty body leaves `body` undefined.
 */
export function jsonBody(limitBytes: number) {
  return async function parseJson(ctx: Context, next: Next): Promise<void> {
    if (METHODS_WITH_BODY.has(ctx.method)) {
      const hasBody = Number(ctx.get('content-length') || 0) > 0 || ctx.get('transfer-encoding') !== '';
      if (hasBody) {
        if (!ctx.is('application/json', 'application/*+json')) {
          throw new UnsupportedMediaTypeError(`Request body must be application/json, not ${ctx.get('content-type') || 'unspecified'}`);
        }
        const text = await readBody(ctx, limitBytes);
        if (text.trim() !== '') {
          try {
            (ctx.request as { body?: unknown }).body = JSON.parse(text);
          } catch (err) {
            throw new ValidationError(`Malformed JSON in request body: ${(err as Error).message}`);
          }
        }
      }
    }
    await next();
  };
}

/** The parsed JSON body of the request (undefined when there was none). */
export const bodyOf = (ctx: Context): unknown => (ctx.request as { body?: unknown }).body;
