import type { Context, Next } from 'koa';
import { PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from '../errors';

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

/**
 * Reads the body up to `limit` bytes. Past the limit it stops keeping the bytes but lets the
 * request drain instead of destroying it: destroying it resets the socket, and the client
 * then often gets ECONNRESET instead of the 413 (or on its next request on that connection).
 */
function readBody(ctx: Context, limit: number): Promise<string> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) return Promise.reject(new PayloadTooLargeError(`Request body of ${declared} bytes exceeds the limit of ${limit} bytes`));
  const req = ctx.req;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      stop();
      req.resume(); // discard the rest, so the connection can serve the next request
      reject(new PayloadTooLargeError(`Request body exceeds the limit of ${limit} bytes`));
    };
    const onEnd = () => {
      stop();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onError = (err: Error) => {
      stop();
      reject(err);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
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
