import type { Context, Next } from 'koa';
import { AuthError, RETRY_AFTER_SECONDS, ServiceUnavailableError, TooManyRequestsError, TributaryError } from '../errors';
import type { Logger } from '../logger';
import { isBackingServiceUnavailable } from '../unavailable';

export const PROBLEM_JSON = 'application/problem+json';

/** An RFC 9457 problem document, with `message` too (what the seed's clients read). */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  message: string;
  instance?: string;
  [extension: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function problem(status: number, slug: string, detail: string, extensions: Record<string, unknown> = {}, instance?: string): Problem {
  return { type: `/problems/${slug}`, title: TITLES[status] ?? 'Error', status, detail, message: detail, instance, ...extensions };
}

/** `throw undefined` (or a string) is legal JavaScript: read its members safely. */
const asObject = (err: unknown): object => (typeof err === 'object' && err !== null ? err : {});

/** What an error answers: the problem document, headers to set, and whether it is a bug (to be logged). */
export interface ProblemAnswer {
  problem: Problem;
  /** Response headers that go with it (`Retry-After` on a 503). */
  headers: Record<string, string>;
  unexpected: boolean;
}

/**
 * Maps every error once: typed errors to their status, outages to 503 with `Retry-After`,
 * anything else to 500.
 */
export function toProblem(err: unknown, instance: string): ProblemAnswer {
  if (err instanceof ServiceUnavailableError) {
    return { problem: problem(503, err.slug, err.message, err.extensions, instance), headers: { 'Retry-After': String(err.retryAfterSeconds) }, unexpected: false };
  }
  if (err instanceof AuthError) {
    return { problem: problem(err.status, err.slug, err.message, err.extensions, instance), headers: { 'WWW-Authenticate': err.challenge }, unexpected: false };
  }
  if (err instanceof TooManyRequestsError) {
    return { problem: problem(429, err.slug, err.message, err.extensions, instance), headers: { 'Retry-After': String(err.retryAfterSeconds) }, unexpected: false };
  }
  if (err instanceof TributaryError) {
    return { problem: problem(err.status, err.slug, err.message, err.extensions, instance), headers: {}, unexpected: false };
  }
  const status = (asObject(err) as { status?: number }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const detail = (err as Error).message || TITLES[status] || 'Bad request';
    return { problem: problem(status, status === 404 ? 'not-found' : status === 405 ? 'method-not-allowed' : 'http', detail, {}, instance), headers: {}, unexpected: false };
  }
  // Untyped outages (mostly Redis: ioredis' errors are not translated where they arise).
  if (isBackingServiceUnavailable(err)) {
    return {
      problem: problem(503, 'service-unavailable', 'A backing service (Postgres or Redis) is not answering; try again shortly', {}, instance),
      headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
      unexpected: false,
    };
  }
  return { problem: problem(500, 'internal', 'An unexpected error occurred; it has been logged', {}, instance), headers: {}, unexpected: true };
}

/** The driver's own words behind a typed outage, for the log line (never for the client). */
function causeOf(err: unknown): string | undefined {
  const cause = (asObject(err) as { cause?: unknown }).cause;
  return cause instanceof Error ? cause.message : cause === undefined ? undefined : String(cause);
}

export function errorHandler(log: Logger) {
  return async function problemDetails(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      // Nothing answered (404), or the router found the path but not the method (405, with Allow set).
      if ((ctx.status === 404 || ctx.status === 405) && ctx.body === undefined) {
        const detail = ctx.status === 404 ? `No resource at ${ctx.path}` : `${ctx.method} is not allowed on ${ctx.path}; allowed: ${ctx.response.get('Allow')}`;
        throw Object.assign(new Error(detail), { status: ctx.status });
      }
    } catch (err) {
      const { problem: p, headers, unexpected } = toProblem(err, ctx.path);
      if (unexpected) log.error({ err, method: ctx.method, path: ctx.path }, 'unhandled error');
      else if (p.status === 503) log.warn({ method: ctx.method, path: ctx.path, reason: p.detail, cause: causeOf(err) }, 'service unavailable');
      ctx.status = p.status;
      ctx.set(headers);
      ctx.type = PROBLEM_JSON;
      ctx.body = p;
    }
  };
}
