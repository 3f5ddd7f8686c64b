import type { Config } from './config';
import { createLogger, type Logger } from './logger';
import { loadContexts, type ContextPlugin, type RuntimeServices } from './context';
import { warnUnboundFunctions } from './functions/unbound';
import { createDb, ensureDatabase } from './store/database';
import { migrateLatest, waitForMigrations } from './store/migrate';
import { checkPartitions } from './store/deployment-settings';
import { connectRedis } from './messaging/redis';
import { Topology } from './messaging/topology';
import type { OutboxRelay } from './messaging/outbox-relay';
import { OutboxSignal } from './messaging/outbox-signal';
import type { StreamConsumer } from './messaging/stream-consumer';
import type { PartitionLeases } from './messaging/partition-leases';
import { ActorSystem } from './actors/actor-system';
import { JobQueues } from './jobs/job-queues';
import { Authenticator } from './auth';
import { enableProcessMetrics, metricsSettings, state as metricsState } from './metrics/registry';
import { RuntimeMetrics } from './metrics/collector';
import { attachMetrics } from './metrics/route';
import { startWebRole } from './web-role';
import { startWorkerRole } from './worker-role';

export interface StartOptions {
  log?: Logger;
  /** Context directories besides the bundled one; defaults to the config's (`CONTEXTS_DIR`). */
  contextsDirs?: string[];
  /** Aborted when a stop is requested while starting: ends what start-up waits for. */
  signal?: AbortSignal;
}

/** A started process: web, worker or both, with what it runs, and a graceful stop. */
export interface Runtime {
  services: RuntimeServices;
  plugins: ContextPlugin[];
  /** Base URL of the web role (when it runs). */
  url?: string;
  relay?: OutboxRelay;
  consumers: StreamConsumer[];
  /** The worker role's partition ownership. */
  leases?: PartitionLeases;
  /** Stops taking work, finishes what is in flight, flushes the relay, closes pools. */
  stop(): Promise<void>;
}

/** The plugin migrations to run for these contexts. */
export const migrationDirs = (plugins: ContextPlugin[]) => plugins.flatMap((p) => (p.migrations ? [p.migrations] : []));

/**
 * Starts a process: connects, migrates (or waits for the migrations), checks `PARTITIONS`,
 * then the web role (`web-role.ts`: every process listens, for the probes at least) and,
 * unless `ROLE=web`, the worker role (`worker-role.ts`).
 */
export async function startRuntime(config: Config, options: StartOptions = {}): Promise<Runtime> {
  const metrics = metricsSettings(config.env);
  const log = options.log ?? createLogger(config.logLevel, undefined, { traceIds: metrics.logTraceIds });
  metricsState.enabled = metrics.enabled;
  if (metrics.enabled) enableProcessMetrics();
  const plugins = loadContexts(config.contexts, options.contextsDirs ?? config.contextsDirs);
  warnUnboundFunctions(config.env, plugins, log);
  const runsWeb = config.role !== 'worker';
  const runsWorker = config.role !== 'web';

  await ensureDatabase(config.databaseUrl);
  const db = createDb(config.databaseUrl, config.db);
  if (config.migrateOnStart) {
    const applied = await migrateLatest(config.databaseUrl, migrationDirs(plugins));
    if (applied.length) log.info({ applied }, 'migrations applied');
  } else {
    await waitForMigrations(config.databaseUrl, migrationDirs(plugins), (pending) =>
      log.warn({ pending }, 'waiting for another process to apply migrations (MIGRATE_ON_START=false)'),
      { signal: options.signal },
    );
  }
  // Before anything reads or writes streams: a process with another PARTITIONS would strand entries.
  await checkPartitions(db, config.partitions).catch(async (err) => {
    await db.destroy();
    throw err;
  });
  // Decided once the api_keys table exists: open (development only, said loudly), or closed.
  const auth = await Authenticator.start(db, config, log);
  const redis = await connectRedis(config.redisUrl);
  const topology = new Topology(config.redisPrefix, config.partitions);
  const signal = new OutboxSignal(db);
  const actors = new ActorSystem(db, topology, config.snapshotEvery, signal, config.actorCacheSize);
  for (const p of plugins) for (const a of p.aggregates ?? []) actors.register(a);
  for (const p of plugins) for (const o of p.offers ?? []) actors.offerCommand(o.aggregate, o.command, o.when);
  const jobs = new JobQueues(config.redisUrl, topology.bullPrefix(), log.child({ component: 'jobs' }));
  const services: RuntimeServices = { config, log, db, redis, topology, actors, jobs };

  let stopping = false;
  let started = false;
  // Every process listens: a worker alone still answers /healthz and /readyz (container and
  // k8s probes). Not ready until every part of this role has started, nor once stopping.
  const web = await startWebRole(services, plugins, () => (stopping ? 'stopping' : started ? 'running' : 'starting'), runsWeb, auth);
  const worker = runsWorker ? await startWorkerRole(services, plugins, signal) : undefined;
  const consumers = worker?.consumers ?? [];
  attachMetrics(
    services,
    new RuntimeMetrics(
      {
        db,
        redis,
        topology,
        consumers,
        relay: worker?.relay,
        timers: worker?.timers,
        memberId: worker?.leases.memberId,
        jobQueues: worker?.jobQueues ?? [],
      },
      metrics.cacheMs,
    ),
  );
  started = true;
  log.info({ role: config.role, contexts: plugins.map((p) => p.name), url: web.url, partitions: config.partitions, prefix: config.redisPrefix }, 'tributary started');

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      stopping = true;
      const deadline = Date.now() + config.shutdownTimeoutMs;
      await Promise.all([web.close(deadline), worker?.stopTaking()]);
      await jobs.close();
      await worker?.finish(deadline);
      signal.close();
      await redis.quit().catch(() => redis.disconnect());
      await db.destroy();
      log.info('tributary stopped');
    })());

  return { services, plugins, url: web.url, relay: worker?.relay, consumers, leases: worker?.leases, stop };
}
