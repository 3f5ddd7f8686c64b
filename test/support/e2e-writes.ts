/**
 * Everything a deployment has written, counted straight in Postgres and Redis: the rows of
 * every table of the schema and the length of every stream under the deployment's prefix.
 * Two equal snapshots around a request mean the request wrote nothing.
 */
import { createRedis, prefixPattern, scanAll } from '../../runtime/messaging/redis';
import { query } from './e2e-store';
import { eventually } from './runtime';

export type WriteSnapshot = Record<string, number>;

interface Deployment {
  DATABASE_URL: string;
  REDIS_URL: string;
  REDIS_PREFIX: string;
}

/** `table:<name>` → rows, `stream:<key>` → entries (knex's own bookkeeping left out). */
export async function writeSnapshot(env: Deployment): Promise<WriteSnapshot> {
  const tables = await query<{ name: string }>(
    env.DATABASE_URL,
    `SELECT table_name AS name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name NOT LIKE 'knex_%' ORDER BY 1`,
  );
  const snapshot: WriteSnapshot = {};
  if (tables.length) {
    const sql = tables.map((t) => `SELECT '${t.name}' AS name, count(*)::int AS n FROM "${t.name}"`).join(' UNION ALL ');
    for (const row of await query<{ name: string; n: number }>(env.DATABASE_URL, sql)) snapshot[`table:${row.name}`] = row.n;
  }
  const redis = createRedis(env.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    for (const key of await scanAll(redis, prefixPattern(env.REDIS_PREFIX), 'stream')) snapshot[`stream:${key}`] = await redis.xlen(key);
  } finally {
    redis.disconnect();
  }
  return snapshot;
}

/** Waits until two snapshots `gapMs` apart are equal (the worker has caught up) and returns it. */
export async function quietSnapshot(env: Deployment, timeoutMs = 20_000, gapMs = 400): Promise<WriteSnapshot> {
  let last: string | undefined;
  return eventually(async () => {
    const now = await writeSnapshot(env);
    const same = JSON.stringify(now) === last;
    last = JSON.stringify(now);
    return same && now;
  }, timeoutMs, gapMs);
}

/** The entries that differ between two snapshots, `name: before → after`. */
export function snapshotDiff(before: WriteSnapshot, after: WriteSnapshot): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names].filter((n) => (before[n] ?? 0) !== (after[n] ?? 0)).map((n) => `${n}: ${before[n] ?? 0} → ${after[n] ?? 0}`);
}
