/** Looks at what a deployment wrote, straight in Postgres and Redis (no runtime code in between). */
import { Client } from 'pg';
import { createRedis } from '../../runtime/messaging/redis';
import { partitionStreams } from '../../runtime/messaging/stream-scan';

/** Runs one query on a short-lived connection. */
export async function query<R extends Record<string, unknown>>(databaseUrl: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const c = new Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    return (await c.query<R>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

export interface StoreCounts {
  events: number;
  outbox: number;
  accounts: number;
  inbox: number;
  /** Entries in the deployment's Redis streams for the topic. */
  streamEntries: number;
}

/** Row counts of the tables a command writes, and the stream entries the relay wrote (on whatever streams of the topic exist). */
export async function storeCounts(env: { DATABASE_URL: string; REDIS_URL: string; REDIS_PREFIX: string }, topic = 'accounts'): Promise<StoreCounts> {
  const [row] = await query<{ events: string; outbox: string; accounts: string; inbox: string }>(
    env.DATABASE_URL,
    `SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM outbox) AS outbox,
            (SELECT count(*) FROM accounts) AS accounts, (SELECT count(*) FROM inbox) AS inbox`,
  );
  const redis = createRedis(env.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  let streamEntries = 0;
  try {
    await redis.connect();
    // Found, not computed: a key's hash tag depends on the deployment's PARTITIONS.
    for (const { key } of (await partitionStreams(redis, env.REDIS_PREFIX)).get(topic) ?? []) streamEntries += await redis.xlen(key);
  } finally {
    redis.disconnect();
  }
  return { events: Number(row.events), outbox: Number(row.outbox), accounts: Number(row.accounts), inbox: Number(row.inbox), streamEntries };
}
