import Redis, { type RedisOptions } from 'ioredis';
import { StartupError } from '../errors';
import { redactUrl as redact } from '../redact';

export type { Redis };

/**
 * A Redis connection. Each consumer gets one of its own for its blocking XREADGROUP reads
 * (and the relay one for its publishing), so a blocked read or a long pipeline never delays
 * another part's commands.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    enableAutoPipelining: false,
    lazyConnect: true,
    connectionName: 'tributary',
    retryStrategy: (times) => Math.min(times * 100, 2_000),
    ...options,
  });
  // Connection errors surface as failed commands (and reconnects); without a listener
  // ioredis would also print each one as "Unhandled error event".
  redis.on('error', () => undefined);
  return redis;
}

/** Connects and pings, or throws a one-line {@link StartupError} naming the URL. */
export async function connectRedis(url: string, options: RedisOptions = {}): Promise<Redis> {
  const redis = createRedis(url, { ...options, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new StartupError(
      `Redis at ${redact(url)} does not answer (${(err as Error).message}): start Redis (docker compose up -d redis) or set REDIS_URL`,
    );
  }
  // From here on, reconnect forever: a Redis restart must not kill the process.
  redis.options.retryStrategy = (times) => Math.min(times * 100, 2_000);
  return redis;
}

/** Deletes every key under the prefix (SCAN + UNLINK; never FLUSHALL: others may share the Redis). */
export async function deleteByPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
