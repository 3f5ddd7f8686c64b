import { subscriptionGroups, type ContextPlugin, type RuntimeServices } from './context';
import { createRedis, type Redis } from './messaging/redis';
import { OutboxRelay } from './messaging/outbox-relay';
import type { OutboxSignal } from './messaging/outbox-signal';
import { StreamConsumer } from './messaging/stream-consumer';
import { PartitionLeases } from './messaging/partition-leases';
import { unreadStreams } from './messaging/partition-report';
import { TimerPoller } from './messaging/timer-poller';
import { reactionHandler } from './reaction-handler';

/** What a worker runs: the outbox relay, the timer poller, one consumer per group (on the partitions it leases), the jobs. */
export interface WorkerRole {
  relay: OutboxRelay;
  timers: TimerPoller;
  consumers: StreamConsumer[];
  leases: PartitionLeases;
  /** The queues whose jobs it processes. */
  jobQueues: string[];
  /**
   * Stops taking work: the timers, and the consumers once their batches in flight are
   * acknowledged; then gives the partitions back for other workers to take now.
   */
  stopTaking(): Promise<void>;
  /** Flushes the relay (until `deadline`) and closes the worker's own connections. */
  finish(deadline: number): Promise<void>;
}

/**
 * Starts the worker role: the relay first (what the others commit reaches the streams), the
 * timers, a consumer per subscription group, the job processors; then takes this worker's
 * share of the partitions (all of them when it runs alone) before the consumers read.
 */
export async function startWorkerRole(services: RuntimeServices, plugins: ContextPlugin[], signal: OutboxSignal): Promise<WorkerRole> {
  const { config, log, db, redis, topology, jobs } = services;
  /** Connections of the worker role's own (the relay's, the leases' events, each consumer's blocking reads). */
  const connections: Redis[] = [];
  // Its own connection: a 1000-command XADD pipeline must not delay the consumers' acks.
  const relayRedis = createRedis(config.redisUrl, { lazyConnect: false, connectionName: 'tributary-relay' });
  connections.push(relayRedis);
  const relay = new OutboxRelay(db, relayRedis, topology, { ...config.relay, databaseUrl: config.databaseUrl }, log.child({ component: 'relay' }), signal);
  await relay.start();
  const timers = new TimerPoller(db, topology, config.timerPollMs, config.timerRearmMs, log.child({ component: 'timers' }), signal);
  timers.start();
  const leaseEvents = createRedis(config.redisUrl, { lazyConnect: false, autoPipelining: false, connectionName: 'tributary-leases' });
  connections.push(leaseEvents);
  const leases = new PartitionLeases(db, redis, topology, config.leases, log.child({ component: 'leases' }), leaseEvents);
  const consumers: StreamConsumer[] = [];
  for (const { group, subscription: s } of subscriptionGroups(plugins, config)) {
    const conn = createRedis(config.redisUrl, { lazyConnect: false, autoPipelining: false, connectionName: `tributary-${group}` });
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

  return {
    relay,
    timers,
    consumers,
    leases,
    jobQueues: plugins.flatMap((p) => (p.jobs ?? []).map((j) => j.queue)),
    async stopTaking() {
      const handingBack = (async () => {
        await Promise.all(consumers.map((c) => c.stop()));
        // Once the consumers finished their batches: give the partitions back for others to take now.
        await leases.stop();
      })();
      await Promise.all([timers.stop(), handingBack]);
    },
    async finish(deadline) {
      await relay.stop(deadline);
      for (const c of connections) c.disconnect();
    },
  };
}
