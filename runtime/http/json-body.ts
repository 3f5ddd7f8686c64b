import type { Context, Next } from 'koa';
import { PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from '../errors';

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

/** Nesting deeper than this is refused: no route takes more than a few levels, and deep values cost stack. */
export const MAX_JSON_DEPTH = 32;

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why a string cannot be stored, or undefined when it can. Postgres refuses NUL (`\u0000`) in
 * text and jsonb, and a lone UTF-16 surrogate is not Unicode at all: both would pass zod and
 * fail in the driver as a 500, so they are refused at the door as a 400.
 */
export function unstorable(text: string): string | undefined {
  if (text.includes('\u0000')) return 'a NUL character (\\u0000)';
  if (LONE_SURROGATE.test(text)) return 'a lone UTF-16 surrogate';
  return undefined;
}

/**
 * Walks a parsed JSON value: every string and every key must be storable, `__proto__` is not
 * a key any route takes (a prototype-pollution vector for code that merges bodies), and the
 * nesting stays within {@link MAX_JSON_DEPTH}. Iterative, so a deep value cannot overflow the stack.
 */
export function checkJsonValue(root: unknown, where = 'request body'): void {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: root, path: '', depth: 0 }];
  while (stack.length) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'string') {
      const bad = unstorable(value);
      if (bad) throw new ValidationError(`The ${where} holds ${bad}${path ? ` at ${path}` : ''}`, [{ path: path || '(root)', message: `must not contain ${bad}` }]);
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= MAX_JSON_DEPTH) throw new ValidationError(`The ${where} is nested deeper than ${MAX_JSON_DEPTH} levels`);
    if (Array.isArray(value)) {
      value.forEach((v, i) => stack.push({ value: v, path: `${path}[${i}]`, depth: depth + 1 }));
      continue;
    }
    for (const [key, v] of Object.entries(value)) {
      const bad = unstorable(key);
      if (bad) throw new ValidationError(`A key in the ${where} holds ${bad}`);
      if (key === '__proto__') throw new ValidationError(`The ${where} holds a "__proto__" key${path ? ` at ${path}` : ''}`, [{ path: path ? `${path}.__proto__` : '__proto__', message: 'is not allowed' }]);
      stack.push({ value: v, path: path ? `${path}.${key}` : key, depth: depth + 1 });
    }
  }
}

/**
 * The decoded path and query string must be storable too (a path parameter or filter ends up
 * in a query), and well-formed percent-encoding: 400 before any route runs.
 */
function checkUrl(ctx: Context): void {
  let path: string;
  try {
    path = decodeURIComponent(ctx.path);
  } catch {
    throw new ValidationError(`The path ${ctx.path} holds malformed percent-encoding`);
  }
  const badPath = unstorable(path);
  if (badPath) throw new ValidationError(`The path holds ${badPath}`);
  for (const [name, value] of Object.entries(ctx.query)) {
    for (const text of [name, ...(Array.isArray(value) ? value : [value ?? ''])]) {
      const bad = unstorable(text);
      if (bad) throw new ValidationError(`The query parameter ${JSON.stringify(name)} holds ${bad}`, [{ path: name, message: `must not contain ${bad}` }]);
    }
  }
}

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
 * the limit, 400 for malformed JSON, for a string or key Postgres cannot store (NUL, lone
 * surrogate; in the body, the path or the query string), a `__proto__` key, or nesting past
 * {@link MAX_JSON_DEPTH}. An empty body leaves `body` undefined.
 */
export function jsonBody(limitBytes: number) {
  return async function parseJson(ctx: Context, next: Next): Promise<void> {
    checkUrl(ctx);
    if (METHODS_WITH_BODY.has(ctx.method)) {
      const hasBody = Number(ctx.get('content-length') || 0) > 0 || ctx.get('transfer-encoding') !== '';
      if (hasBody) {
        if (!ctx.is('application/json', 'application/*+json')) {
          throw new UnsupportedMediaTypeError(`Request body must be application/json, not ${ctx.get('content-type') || 'unspecified'}`);
        }
        const text = await readBody(ctx, limitBytes);
        if (text.trim() !== '') {
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch (err) {
            throw new ValidationError(`Malformed JSON in request body: ${(err as Error).message}`);
          }
          checkJsonValue(body);
          (ctx.request as { body?: unknown }).body = body;
        }
      }
    }
    await next();
  };
}

/** The parsed JSON body of the request (undefined when there was none). */
export const bodyOf = (ctx: Context): unknown => (ctx.request as { body?: unknown }).body;
