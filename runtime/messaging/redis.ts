import IORedis, { Cluster, type RedisOptions } from 'ioredis';
import { StartupError } from '../errors';
import { redactUrl as redact } from '../redact';
import { parseRedisUrl, type RedisTarget } from './redis-url';
import { slotOf } from './slot-tags';

/** A connection to one Redis, or a client of a Redis Cluster: the runtime uses either. */
export type Redis = IORedis | Cluster;

export const isCluster = (redis: Redis): redis is Cluster => (redis as Cluster).isCluster === true;

const reconnect = (times: number) => Math.min(times * 100, 2_000);

/**
 * A Redis client for `url` (`redis://`, `rediss://`, or a cluster: `redis+cluster://` and
 * `rediss+cluster://`, see redis-url.ts). Each consumer gets one of its own for its blocking
 * XREADGROUP reads (and the relay one for its publishing), so a blocked read or a long
 * pipeline never delays another part's commands.
 *
 * A cluster client pipelines automatically: commands issued in the same tick are sent
 * together per node, which is how the runtime batches commands whose keys lie in many
 * slots (see {@link keyedBatch}). `autoPipelining: false` is for a client that blocks
 * (XREADGROUP BLOCK): an automatic pipeline would hold other commands behind the block.
 */
export function createRedis(url: string, options: RedisOptions & { autoPipelining?: boolean } = {}): Redis {
  const { autoPipelining = true, ...rest } = options;
  const target = parseRedisUrl(url);
  const settings: RedisOptions = {
    maxRetriesPerRequest: null,
    enableAutoPipelining: false,
    lazyConnect: true,
    connectionName: 'tributary',
    retryStrategy: reconnect,
    ...rest,
  };
  const redis = target.kind === 'single' ? new IORedis(url, settings) : clusterClient(target, settings, autoPipelining);
  // Connection errors surface as failed commands (and reconnects); without a listener
  // ioredis would also print each one as "Unhandled error event".
  redis.on('error', () => undefined);
  return redis;
}

function clusterClient(target: Extract<RedisTarget, { kind: 'cluster' }>, settings: RedisOptions, autoPipelining: boolean): Cluster {
  const { retryStrategy, lazyConnect, enableAutoPipelining: _single, ...node } = settings;
  return new Cluster(target.nodes, {
    lazyConnect,
    clusterRetryStrategy: retryStrategy ?? undefined,
    enableAutoPipelining: autoPipelining,
    // Automatic pipelines are grouped by the first key ioredis finds; for these it takes the
    // subcommand (CREATE, GROUPS) for the key, which would send them to the wrong node.
    autoPipeliningIgnoredCommands: ['xgroup', 'xinfo'],
    // A failover takes the cluster a node timeout or two; commands wait for the new map.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    slotsRefreshTimeout: 2_000,
    // With TLS, connect to the host names the cluster announces, not to addresses resolved
    // from them: a certificate names the host (what ioredis advises for AWS ElastiCache).
    ...(target.tls ? { dnsLookup: (address: string, callback: (err: Error | null, address: string) => void) => callback(null, address) } : {}),
    redisOptions: {
      ...node,
      ...(target.username ? { username: target.username } : {}),
      ...(target.password ? { password: target.password } : {}),
      ...(target.tls ? { tls: {} } : {}),
    },
  });
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
  if (isCluster(redis)) redis.options.clusterRetryStrategy = reconnect;
  else redis.options.retryStrategy = reconnect;
  return redis;
}

type Reply = [Error | null, unknown];
/** What {@link keyedBatch} returns: a pipeline's interface (commands chain, `exec` answers in order). */
export type KeyedBatch = ReturnType<IORedis['pipeline']>;

/**
 * Commands whose keys may lie in different slots, sent in one round trip: on one Redis a
 * pipeline; on a cluster (which refuses a pipeline across slots) each command on its own,
 * all in the same tick, so the client's automatic pipelining sends them together per node.
 * Not a transaction either way; `exec` answers `[error, result]` per command, in order.
 */
export function keyedBatch(redis: Redis): KeyedBatch {
  if (!isCluster(redis)) return redis.pipeline();
  const calls: [string, unknown[]][] = [];
  const batch: KeyedBatch = new Proxy({} as KeyedBatch, {
    get(_, name) {
      if (name === 'exec')
        return (): Promise<Reply[]> =>
          Promise.all(
            calls.map(([command, args]) =>
              ((redis as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[command](...args)).then(
                (r): Reply => [null, r],
                (e: Error): Reply => [e, null],
              ),
            ),
          );
      return (...args: unknown[]) => {
        calls.push([String(name), args]);
        return batch;
      };
    },
  });
  return batch;
}

/** The node connections to scan: the one Redis, or every master of a cluster (known once its slot map is). */
async function scanTargets(redis: Redis): Promise<IORedis[]> {
  if (!isCluster(redis)) return [redis];
  if (redis.status !== 'ready') await redis.ping();
  return redis.nodes('master');
}

/** Every key matching `pattern` (of `type`, when given), on every master. Unsorted, no duplicates. */
export async function scanAll(redis: Redis, pattern: string, type?: string): Promise<string[]> {
  const keys = new Set<string>();
  for (const node of await scanTargets(redis)) {
    let cursor = '0';
    do {
      const [next, batch] = type ? await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000, 'TYPE', type) : await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      for (const k of batch) keys.add(k);
    } while (cursor !== '0');
  }
  return [...keys];
}

/** `MATCH` pattern for keys starting with `prefix` (its glob characters escaped). */
export const prefixPattern = (prefix: string): string => `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;

/** Deletes keys, in one round trip per slot (a cluster refuses a multi-key UNLINK across slots). */
export async function unlinkAll(redis: Redis, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  if (!isCluster(redis)) {
    await redis.unlink(...keys);
    return;
  }
  const bySlot = new Map<number, string[]>();
  for (const k of keys) {
    const slot = slotOf(k);
    bySlot.set(slot, [...(bySlot.get(slot) ?? []), k]);
  }
  await Promise.all([...bySlot.values()].map((ks) => redis.unlink(...ks)));
}

/** Deletes every key under the prefix (SCAN + UNLINK on every master; never FLUSHALL: others may share the Redis); returns how many. */
export async function unlinkByPrefix(redis: Redis, prefix: string): Promise<number> {
  const keys = await scanAll(redis, prefixPattern(prefix));
  await unlinkAll(redis, keys);
  return keys.length;
}

/** {@link unlinkByPrefix} on a connection of its own. */
export async function deleteByPrefix(url: string, prefix: string): Promise<void> {
  const redis = createRedis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    await redis.connect();
    await unlinkByPrefix(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

/**
 * The node connection of a cluster client that serves `key`'s slot now (for the commands that
 * must reach one node: CLIENT ID / CLIENT UNBLOCK of a blocked read), or undefined while the
 * slot map is unknown.
 */
export function nodeFor(cluster: Cluster, key: string): IORedis | undefined {
  const address = cluster.slots[slotOf(key)]?.[0];
  if (!address) return undefined;
  return cluster.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === address);
}
