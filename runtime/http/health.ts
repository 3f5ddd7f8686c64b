import type Router from '@koa/router';
import { z } from 'zod';
import { route } from './route-spec';
import type { Db } from '../store/database';
import type { Redis } from '../messaging/redis';

/** How long a readiness probe of Postgres or Redis may take before it counts as down. */
export const PROBE_TIMEOUT_MS = 1_000;
/**
 * How long a probe's answer is reused: however often `/readyz` is asked (several load
 * balancers, a retrying orchestrator), each backing service sees at most one probe per
 * this period, and none piles up while it does not answer.
 */
export const PROBE_CACHE_MS = 1_000;

/** `'up'`, or `'down: <reason>'`. */
export type CheckResult = string;

/** What a probe failure says, with the driver's words when a typed error wraps them. */
function reason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  return cause instanceof Error ? `${message} (${cause.message})` : message;
}

async function check(probe: () => Promise<unknown>, timeoutMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return 'up';
  } catch (err) {
    return `down: ${reason(err)}`;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A readiness check that runs `probe` (bounded by `timeoutMs`) at most once per `cacheMs`:
 * callers meanwhile share the probe in flight, or its answer.
 */
export function cachedCheck(probe: () => Promise<unknown>, timeoutMs = PROBE_TIMEOUT_MS, cacheMs = PROBE_CACHE_MS): () => Promise<CheckResult> {
  let last: { at: number; result: Promise<CheckResult> } | undefined;
  return () => {
    const now = performance.now();
    if (!last || now - last.at >= cacheMs) {
      const result = check(probe, timeoutMs);
      const entry = { at: now, result };
      last = entry;
      // The period counts from the answer, so a slow probe is not followed by another at once.
      void result.then(() => (entry.at = performance.now()));
    }
    return last.result;
  };
}

/** Where the process is in its life: only 'running' can be ready. */
export type Lifecycle = () => 'starting' | 'running' | 'stopping';

/**
 * `/healthz` is liveness: 200 while the process runs, whatever its backing services do (an
 * orchestrator must not restart a process because Postgres is down: that would not bring
 * Postgres back). `/readyz` is readiness: 200 once started, while Postgres and Redis answer
 * (`SELECT 1`, `PING`), 503 otherwise, so traffic goes elsewhere until they are back.
 */
export function mountHealth(router: Router, db: Db, redis: Redis, lifecycle: Lifecycle): void {
  // The pid tells a caller which process answered (tests and operators sharing a host).
  route(router, {
    method: 'get',
    path: '/healthz',
    operationId: 'getLiveness',
    summary: 'Liveness: 200 while the process runs',
    tags: ['Health'],
    scope: 'public',
    responses: {
      200: {
        description: 'The process runs',
        contentType: 'application/json',
        schema: z.object({ status: z.literal('ok'), pid: z.number().int() }).strict(),
      },
    },
  }, (ctx) => {
    ctx.body = { status: 'ok', pid: process.pid };
  });
  const postgres = cachedCheck(() => db.raw('select 1'));
  const redisPing = cachedCheck(() => redis.ping());
  const readiness = z
    .object({
      status: z.enum(['ready', 'not ready', 'starting', 'stopping']),
      checks: z.object({ postgres: z.string().describe("'up' or 'down: <reason>'"), redis: z.string() }).strict(),
    })
    .strict();
  route(router, {
    method: 'get',
    path: '/readyz',
    operationId: 'getReadiness',
    summary: 'Readiness: 200 once started while Postgres and Redis answer, 503 otherwise',
    tags: ['Health'],
    scope: 'public',
    responses: {
      200: { description: 'Ready for traffic', contentType: 'application/json', schema: readiness },
      503: { description: 'Not ready (starting, stopping, or a backing service is down)', contentType: 'application/json', schema: readiness },
    },
  }, async (ctx) => {
    const [pg, rd] = await Promise.all([postgres(), redisPing()]);
    const checks = { postgres: pg, redis: rd };
    const phase = lifecycle();
    const ready = phase === 'running' && pg === 'up' && rd === 'up';
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : phase === 'running' ? 'not ready' : phase, checks };
  });
}
