import type { Config } from './config';
import { ensureDatabase } from './store/database';
import { migrateLatest } from './store/migrate';
import { loadContexts, subscriptionGroups } from './context';
import { createDb } from './store/database';
import { describePartitions, unreadStreams, type GroupPartitions, type UnreadStream } from './messaging/partition-report';
import { migrationDirs } from './roles';
import { connectRedis } from './messaging/redis';
import { Topology } from './messaging/topology';
import { listDeadLetters, redriveDeadLetter, type DeadLetter } from './messaging/dead-letters';
import { repartition as moveStreams, type RepartitionResult } from './messaging/repartition';

/** One-shot operator tasks behind the CLI. */
export async function migrate(config: Config): Promise<string[]> {
  const plugins = loadContexts(config.contexts, config.contextsDirs);
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

/** Ownership and lag of every partition of the consumer groups of CONTEXTS, and the streams no partition reads. */
export async function partitions(config: Config): Promise<{ groups: GroupPartitions[]; unreadStreams: UnreadStream[] }> {
  const groups = subscriptionGroups(loadContexts(config.contexts, config.contextsDirs), config).map(({ group, subscription }) => ({ group, topics: subscription.topics }));
  const db = createDb(config.databaseUrl, 1);
  try {
    return await withRedis(config, async (r, t) => ({ groups: await describePartitions(db, r, t, groups), unreadStreams: await unreadStreams(r, t) }));
  } finally {
    await db.destroy();
  }
}

/**
 * Moves a stopped deployment to `to` partitions (runtime/messaging/repartition.ts): runs the
 * migrations first, so that a deployment older than `deployment_settings` can be moved too.
 */
export async function repartition(config: Config, to: number): Promise<RepartitionResult> {
  const plugins = loadContexts(config.contexts, config.contextsDirs);
  await ensureDatabase(config.databaseUrl);
  await migrateLatest(config.databaseUrl, migrationDirs(plugins));
  const groups = subscriptionGroups(plugins, config).map(({ group, subscription }) => ({ group, topics: subscription.topics }));
  const db = createDb(config.databaseUrl, 2);
  try {
    return await withRedis(config, (r) => moveStreams(db, r, { prefix: config.redisPrefix, to, configured: config.partitions, groups, leaseTtlMs: config.leases.ttlMs }));
  } finally {
    await db.destroy();
  }
}

/** `keys create|list|revoke`: API keys in this deployment's database (docs/security.md). */
export async function withDatabase<T>(config: Config, fn: (db: ReturnType<typeof createDb>) => Promise<T>): Promise<T> {
  const db = createDb(config.databaseUrl, 1);
  try {
    return await fn(db);
  } finally {
    await db.destroy();
  }
}
