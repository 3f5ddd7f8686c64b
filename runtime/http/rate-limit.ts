import type { Context, Next } from 'koa';
import type { Redis } from '../messaging/redis';
import { TooManyRequestsError } from '../errors';
import { QuotaCounter } from './quota-counter';

/** The request quota of one client: `points` requests per `durationSeconds` (0 points: no limit). */
export interface RateLimitSettings {
  points: number;
  durationSeconds: number;
}

/** Paths never limited: probes and scrapes come from the platform, not from clients. */
export const RATE_LIMIT_EXEMPT: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

interface PrincipalLike {
  kind?: string;
  keyId?: string;
  subject?: string;
}

/**
 * Who a request counts against: its credential when it was authenticated (the auth guard puts
 * the principal in `ctx.state`), else its client address (the API is open, or the route is
 * public). Every web process shares the count, in Redis.
 */
export function clientKey(ctx: Context): string {
  const p = ctx.state.principal as PrincipalLike | undefined;
  if (p?.kind === 'api-key' && p.keyId) return `key:${p.keyId}`;
  if (p?.kind === 'jwt' && p.subject) return `jwt:${p.subject}`;
  return `ip:${ctx.ip}`;
}

/**
 * Per-client request quota: over it, 429 problem+json with `Retry-After` (seconds until the
 * window frees a request). Counted per fixed window in Redis under the deployment's prefix
 * (`<prefix>ratelimit:`), so it holds across web processes, with one round trip per flush for
 * all requests ({@link QuotaCounter}). Mounted after the auth guard, so that an authenticated
 * request counts against its credential rather than the address it comes from.
 */
export function rateLimit(redis: Redis, keyPrefix: string, settings: RateLimitSettings) {
  if (settings.points === 0) return async (_ctx: Context, next: Next): Promise<void> => next();
  const counter = new QuotaCounter(redis, `${keyPrefix}ratelimit:`, settings.points, settings.durationSeconds * 1000);
  return async function quota(ctx: Context, next: Next): Promise<void> {
    if (RATE_LIMIT_EXEMPT.has(ctx.path)) return next();
    const waitMs = counter.take(clientKey(ctx));
    if (waitMs > 0) {
      const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
      throw new TooManyRequestsError(
        `Too many requests from this client: at most ${settings.points} every ${settings.durationSeconds} s (RATE_LIMIT_POINTS, RATE_LIMIT_DURATION_S); retry in ${retryAfter} s`,
        retryAfter,
        { name: 'RATE_LIMIT_POINTS', value: settings.points, durationSeconds: settings.durationSeconds },
      );
    }
    await next();
  };
}
