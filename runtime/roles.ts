import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config';
import { createLogger, type Logger } from './logger';
import { loadContexts, subscriptionGroups, type ContextPlugin, type ReactionContext, type RuntimeServices, type Subscription } from './context';
import { createDb, ensureDatabase, writesOf } from './store/database';
import { migrateLatest, waitForMigrations } from './store/migrate';
import { checkPartitions } from './store/deployment-settings';
import { connectRedis, createRedis, type Redis } from './messaging/redis';
import { Topology } from './messaging/topology';
import { OutboxRelay } from './messaging/outbox-relay';
import { OutboxSignal } from './messaging/outbox-signal';
import { StreamConsumer } from './messaging/stream-consumer';
import { PartitionLeases } from './messaging/partition-leases';
import { unreadStreams } from './messaging/partition-report';
import { ActorSystem } from './actors/actor-system';
import { JobQueues } from './jobs/job-queues';
import { createWebApp } from './http/web-app';
import { Authenticator } from './auth';
import { closeEventStreams } from './http/console-api';
import { CommandRejectedError, StartupError } from './errors';
import { TimerPoller } from './messaging/timer-poller';
import { currentTraceCarrier } from './telemetry/propagation';
import { enableProcessMetrics, metricsSettings, state as metricsState } from './metrics/registry';
import { RuntimeMetrics } from './metrics/collector';
import { attachMetrics } from './metrics/route';

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

export async function startRuntime(config: Config, options: StartOptions = {}): Promise<Runtime> {
  const metrics = metricsSettings(config.env);
  const log = options.log ?? createLogger(config.logLevel, undefined, { traceIds: metrics.logTraceIds });
  metricsState.enabled = metrics.enabled;
  if (metrics.enabled) enableProcessMetrics();
  const plugins = loadContexts(config.contexts, options.contextsDirs ?? config.contextsDirs);
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
  let server: Server | undefined;
  let url: string | undefined;
  {
    // A worker alone still answers /healthz and /readyz (container and k8s probes).
    // Not ready until every part of this role has started, nor once stopping.
    const app = createWebApp(services, runsWeb ? plugins : [], () => (stopping ? 'stopping' : started ? 'running' : 'starting'), runsWeb, auth);
    server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(config.port, config.host, () => resolve(s));
      s.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'EADDRINUSE' || err.code === 'EACCES'
            ? new StartupError(`Cannot listen on ${config.host}:${config.port} (${err.code}): stop the process that holds it or set PORT`)
            : err,
        ),
      );
    });
    server.requestTimeout = config.http.requestTimeoutMs + 5_000;
    const address = server.address() as AddressInfo;
    url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${address.port}`;
  }

  let relay: OutboxRelay | undefined;
  let timers: TimerPoller | undefined;
  const consumers: StreamConsumer[] = [];
  let leases: PartitionLeases | undefined;
  /** Connections of the worker role's own (the relay's, each consumer's blocking reads). */
  const connections: Redis[] = [];
  if (runsWorker) {
    // Its own connection: a 1000-command XADD pipeline must not delay the consumers' acks.
    const relayRedis = createRedis(config.redisUrl, { lazyConnect: false, connectionName: 'tributary-relay' });
    connections.push(relayRedis);
    relay = new OutboxRelay(db, relayRedis, topology, { ...config.relay, databaseUrl: config.databaseUrl }, log.child({ component: 'relay' }), signal);
    await relay.start();
    timers = new TimerPoller(db, topology, config.timerPollMs, config.timerRearmMs, log.child({ component: 'timers' }), signal);
    timers.start();
    const leaseEvents = createRedis(config.redisUrl, { lazyConnect: false, connectionName: 'tributary-leases' });
    connections.push(leaseEvents);
    leases = new PartitionLeases(db, redis, topology, config.leases, log.child({ component: 'leases' }), leaseEvents);
    for (const { group, subscription: s } of subscriptionGroups(plugins, config)) {
      const conn = createRedis(config.redisUrl, { lazyConnect: false, connectionName: `tributary-${group}` });
      connections.push(conn);
      let consumer: StreamConsumer | undefined;
      // A won partition's pending entries are taken over before it is read.
      const ownership = leases.join(group, { won: (ps) => consumer!.adopt(ps), gaveBack: () => consumer!.interruptRead() });
      consumer = new StreamConsumer(db, redis, conn, topology, {
        ...config.consumer,
        group,
        ownership,
        topics: s.topics,
        handler: reactionHandler(s, services),
        accepts: s.types ? ((types) => (type: string) => types.has(type))(new Set(s.types)) : undefined,
        onCommitted: () => signal.committed(),
      }, log.child({ component: 'consumer', group }));
      await consumer.ensureGroups();
      consumers.push(consumer);
    }
    for (const p of plugins) for (const j of p.jobs ?? []) jobs.process(j.queue, (job) => j.process(job, services), j.concurrency);
    // The first round takes this worker's share (all of it when it runs alone) before reading.
    await leases.start();
    for (const c of consumers) await c.start();
    // Entries a larger PARTITIONS wrote are read by nobody until a repartition moves them.
    for (const u of await unreadStreams(redis, topology).catch(() => []))
      log.warn({ stream: u.key, length: u.length, partitions: config.partitions }, 'stream holds entries no partition reads: run tributary repartition --to <PARTITIONS> to move them');
  }
  attachMetrics(
    services,
    new RuntimeMetrics(
      {
        db,
        redis,
        topology,
        consumers,
        relay,
        timers,
        memberId: leases?.memberId,
        jobQueues: runsWorker ? plugins.flatMap((p) => (p.jobs ?? []).map((j) => j.queue)) : [],
      },
      metrics.cacheMs,
    ),
  );
  started = true;
  log.info({ role: config.role, contexts: plugins.map((p) => p.name), url, partitions: config.partitions, prefix: config.redisPrefix }, 'tributary started');

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      stopping = true;
      // Event streams never end on their own: end them first, or the server's close waits for them.
      closeEventStreams(services);
      const deadline = Date.now() + config.shutdownTimeoutMs;
      const closing = server
        ? new Promise<void>((resolve) => {
            server!.close(() => resolve());
            server!.closeIdleConnections();
            setTimeout(() => server!.closeAllConnections(), Math.max(0, deadline - Date.now() - 500)).unref();
          })
        : Promise.resolve();
      const handingBack = (async () => {
        await Promise.all(consumers.map((c) => c.stop()));
        // Once the consumers finished their batches: give the partitions back for others to take now.
        await leases?.stop();
      })();
      await Promise.all([closing, timers?.stop(), handingBack]);
      await jobs.close();
      await relay?.stop(deadline);
      for (const c of connections) c.disconnect();
      signal.close();
      await redis.quit().catch(() => redis.disconnect());
      await db.destroy();
      log.info('tributary stopped');
    })());

  return { services, plugins, url, relay, consumers, leases, stop };
}

/** Adapts a context's subscription to the consumer: the reaction context (the consumer's `accepts` filters the types). */
function reactionHandler(s: Subscription, services: RuntimeServices) {
  return async (message: ReactionContext['message'], tx: ReactionContext['tx'], delivery: ReactionContext['delivery']) => {
    const causation = { correlationId: message.correlationId, causationId: message.id };
    const ctx: ReactionContext = {
      message,
      tx,
      delivery,
      log: services.log,
      services,
      async execute(type, id, command, input, options) {
        try {
          return await services.actors.execute(type, id, command, input, { tx, causation, loaded: options?.loaded, expectedVersion: options?.expectedVersion });
        } catch (err) {
          if (err instanceof CommandRejectedError) {
            services.log.debug({ type, id, command, reason: err.message, cause: message.type }, 'reaction command refused by state; no effect');
            return undefined;
          }
          throw err;
        }
      },
      // Buffered, and written with the batch's other writes in one statement (see WriteBuffer).
      send: async (...messages) => writesOf(tx).send(services.actors.envelopes(messages, causation)),
      schedule: async (t) =>
        tx.schedule({
          actor: t.actor,
          name: t.name,
          topic: t.topic,
          data: t.data,
          dueAt: new Date(Date.now() + t.inMs),
          correlationId: message.correlationId,
          ...currentTraceCarrier(),
        }),
      cancel: async (actor, name) => tx.cancel(actor, name),
      afterCommit: (fn) => delivery.afterCommit(fn),
    };
    await s.handle(ctx);
  };
}
