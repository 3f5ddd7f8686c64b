import type { Config } from './config';
import { ensureDatabase } from './store/database';
import { migrateLatest } from './store/migrate';
import { loadContexts, subscriptionGroups } from './context';
import { createDb } from './store/database';
import { describePartitions, type GroupPartitions } from './messaging/partition-report';
import { migrationDirs } from './roles';
import { connectRedis } from './messaging/redis';
import { Topology } from './messaging/topology';
import { listDeadLetters, redriveDeadLetter, type DeadLetter } from './messaging/dead-letters';

/** One-shot operator tasks behind the CLI. */
export async function migrate(config: Config): Promise<string[]> {
  const plugins = loadContexts(config.contexts, config.contextsDir);
  await ensureDatabase(config.databaseUrl);
  return migrateLatest(config.databaseUrl, migrationDirs(plugins));
}

async function withRedis<T>(config: Config, fn: (redis: Awaited<ReturnType<typeof connectRedis>>, topology: Topology) => Promise<T>): Promise<T> {
  const redis = await connectRedis(config.redisUrl);
  try {
    return await fn(redis, new Topology(config.redisPrefix, config.partitions));
  } finally {
    redis.disconnect();
  }
}

export const deadLetters = (config: Config, limit: number): Promise<DeadLetter[]> => withRedis(config, (r, t) => listDeadLetters(r, t, limit));
export const redrive = (config: Config, id: string): Promise<DeadLetter> => withRedis(config, (r, t) => redriveDeadLetter(r, t, id));

/** Ownership and lag of every partition of the consumer groups of CONTEXTS. */
export async function partitions(config: Config): Promise<GroupPartitions[]> {
  const groups = subscriptionGroups(loadContexts(config.contexts, config.contextsDir), config).map(({ group, subscription }) => ({ group, topics: subscription.topics }));
  const db = createDb(config.databaseUrl, 1);
  try {
    return await withRedis(config, (r, t) => describePartitions(db, r, t, groups));
  } finally {
    await db.destroy();
  }
}
