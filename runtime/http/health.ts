import type Router from '@koa/router';
import type { Db } from '../store/database';
import type { Redis } from '../messaging/redis';

async function check(name: string, probe: () => Promise<unknown>, timeoutMs: number): Promise<[string, string]> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return [name, 'up'];
  } catch (err) {
    return [name, `down: ${(err as Error).message}`];
  } finally {
    clearTimeout(timer);
  }
}

/** `/healthz`: the process is alive. `/readyz`: Postgres and Redis answer (503 otherwise). */
/** Where the process is in its life: only 'running' can be ready. */
export type Lifecycle = () => 'starting' | 'running' | 'stopping';

export function mountHealth(router: Router, db: Db, redis: Redis, lifecycle: Lifecycle): void {
  // The pid tells a caller which process answered (tests and operators sharing a host).
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok', pid: process.pid };
  });
  router.get('/readyz', async (ctx) => {
    const checks = Object.fromEntries(
      await Promise.all([check('postgres', () => db.raw('select 1'), 1_000), check('redis', () => redis.ping(), 1_000)]),
    );
    const phase = lifecycle();
    const ready = phase === 'running' && Object.values(checks).every((s) => s === 'up');
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : phase === 'running' ? 'not ready' : phase, checks };
  });
}
