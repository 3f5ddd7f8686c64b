import type { Counter } from 'prom-client';
import type { Db } from '../store/database';
import { keyedBatch, type Redis } from '../messaging/redis';
import type { Topology } from '../messaging/topology';
import { describePartitions, type GroupTopics } from '../messaging/partition-report';
import { ScrapeCache } from './scrape-cache';
import * as m from './messaging';
import { observeSagaDurations } from './commands';

/** Seconds from each stream's first event to the given (final) version, in the order asked. */
const SAGA_DURATIONS_SQL = `
  SELECT extract(epoch FROM f.created_at - s.created_at)::float8 AS seconds
  FROM unnest(?::text[], ?::int[]) WITH ORDINALITY AS t(stream_id, version, n)
  LEFT JOIN events s ON s.stream_id = t.stream_id AND s.version = 1
  LEFT JOIN events f ON f.stream_id = t.stream_id AND f.version = t.version
  ORDER BY t.n`;

/** A consumer's own per-partition counts (see `StreamConsumer.counts`). */
export interface ConsumerCounts {
  group: string;
  topics: string[];
  counts: { handled: number[]; failed: number[]; deadLettered: number[] };
}

/** What one runtime gives its collector: where to read, and the components' own counts. */
export interface MetricsSources {
  db: Db;
  redis: Redis;
  topology: Topology;
  consumers: readonly ConsumerCounts[];
  relay?: { published: number };
  timers?: { fired: number };
  /** This process's lease member id (worker role): says which partitions it owns. */
  memberId?: string;
  /** BullMQ queues of the loaded contexts. */
  jobQueues: readonly string[];
}

const OUTBOX_AND_TIMERS_SQL = `
  SELECT (SELECT count(*) FROM outbox)::int AS backlog,
         (SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0) FROM outbox)::float8 AS oldest,
         (SELECT count(*) FROM timers WHERE due_at <= now())::int AS due`;

/** The context of a consumer group (`<context>.<subscription>`). */
const contextOf = (group: string): string => group.slice(0, Math.max(0, group.indexOf('.'))) || group;

/** BullMQ's key per state: lists, or sorted sets. */
const JOB_STATES: readonly [state: string, key: string, kind: 'list' | 'zset'][] = [
  ['waiting', 'wait', 'list'],
  ['active', 'active', 'list'],
  ['prioritized', 'prioritized', 'zset'],
  ['delayed', 'delayed', 'zset'],
  ['completed', 'completed', 'zset'],
  ['failed', 'failed', 'zset'],
];

/**
 * The metrics of one runtime: counters synchronised from its components on every scrape
 * (in-process numbers, free), gauges read from Postgres and Redis through a {@link ScrapeCache}.
 */
export class RuntimeMetrics {
  readonly cache: ScrapeCache<void>;
  /** Last totals added, per counter child, so each scrape adds the difference. */
  private readonly seen = new Map<object, number>();

  constructor(private readonly sources: MetricsSources, cacheMs: number) {
    this.cache = new ScrapeCache(() => this.collect(), cacheMs);
  }

  /** Brings the counters up to date and the gauges at most `cacheMs` old. */
  async refresh(): Promise<void> {
    this.syncCounters();
    const durations = observeSagaDurations(async (streams, versions) => {
      const { rows } = await this.sources.db.raw<{ rows: { seconds: number | null }[] }>(SAGA_DURATIONS_SQL, [streams, versions]);
      return rows.map((r) => r.seconds);
    });
    const results = await Promise.allSettled([durations, this.cache.get()]);
    // Counted; the scrape still answers with the last values rather than failing.
    for (const r of results) if (r.status === 'rejected') m.collectionErrors.inc();
  }

  private add(counter: { inc(n: number): void }, total: number): void {
    const before = this.seen.get(counter) ?? 0;
    if (total > before) counter.inc(total - before);
    this.seen.set(counter, total);
  }

  private readonly children = new Map<string, ReturnType<Counter['labels']>>();
  private child(counter: Counter<'context' | 'group' | 'partition'>, key: string, group: string, partition: number) {
    let c = this.children.get(key);
    if (!c) this.children.set(key, (c = counter.labels(contextOf(group), group, String(partition))));
    return c;
  }

  syncCounters(): void {
    const s = this.sources;
    if (s.relay) this.add(m.relayed, s.relay.published);
    if (s.timers) this.add(m.timersFired, s.timers.fired);
    for (const c of s.consumers) {
      for (let p = 0; p < c.counts.handled.length; p++) {
        this.add(this.child(m.consumerHandled, `h/${c.group}/${p}`, c.group, p), c.counts.handled[p]);
        this.add(this.child(m.consumerFailed, `f/${c.group}/${p}`, c.group, p), c.counts.failed[p]);
        this.add(this.child(m.consumerDeadLettered, `d/${c.group}/${p}`, c.group, p), c.counts.deadLettered[p]);
      }
    }
  }

  /** One query and two Redis pipelines (partition report, queue counts), whatever the number of scrapers. */
  private async collect(): Promise<void> {
    const s = this.sources;
    m.collections.inc();
    const groups: GroupTopics[] = s.consumers.map((c) => ({ group: c.group, topics: c.topics }));
    const [{ rows }, report, jobs] = await Promise.all([
      s.db.raw<{ rows: { backlog: number; oldest: number; due: number }[] }>(OUTBOX_AND_TIMERS_SQL),
      groups.length ? describePartitions(s.db, s.redis, s.topology, groups) : Promise.resolve([]),
      this.jobCounts(),
    ]);
    m.outboxBacklog.set(rows[0].backlog);
    m.outboxOldestAge.set(rows[0].oldest);
    m.timersDue.set(rows[0].due);
    for (const g of report) {
      for (const p of g.partitions) {
        const labels = [contextOf(g.group), g.group, String(p.partition)] as const;
        m.consumerPending.labels(...labels).set(p.pending);
        if (p.lag === null) m.consumerLag.remove(...labels);
        else m.consumerLag.labels(...labels).set(p.lag);
        m.partitionOwned.labels(...labels).set(s.memberId !== undefined && p.owner === s.memberId ? 1 : 0);
      }
    }
    for (const [queue, state, n] of jobs) m.jobCounts.labels(queue, state).set(n);
  }

  private async jobCounts(): Promise<[string, string, number][]> {
    const { jobQueues, redis, topology } = this.sources;
    if (jobQueues.length === 0) return [];
    const pipeline = keyedBatch(redis);
    for (const q of jobQueues) {
      for (const [, key, kind] of JOB_STATES) {
        const full = `${topology.bullPrefix()}:${q}:${key}`;
        if (kind === 'list') pipeline.llen(full);
        else pipeline.zcard(full);
      }
    }
    const replies = (await pipeline.exec()) ?? [];
    const out: [string, string, number][] = [];
    let i = 0;
    for (const q of jobQueues) {
      for (const [state] of JOB_STATES) {
        const [err, n] = replies[i++];
        if (err) throw err;
        out.push([q, state, Number(n)]);
      }
    }
    return out;
  }
}
