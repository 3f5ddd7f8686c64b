import { Counter, Gauge } from 'prom-client';
import { PREFIX, registry } from './registry';

/*
 * The messaging families. The counters are kept by the components themselves as plain
 * numbers (the relay's `published`, the timer poller's `fired`, a consumer's per-partition
 * counts), so their hot paths touch no metric object; `syncCounters` (collector.ts) adds
 * what changed since the last scrape. The gauges are read from Postgres and Redis through
 * the scrape cache.
 */

/** The context (a group is `<context>.<subscription>`), the group, the partition. */
const labelsGP = ['context', 'group', 'partition'] as const;

export const relayed = new Counter({ name: `${PREFIX}outbox_relayed_total`, help: 'Outbox messages published to the streams by the relay of this process', registers: [registry] });
export const outboxBacklog = new Gauge({ name: `${PREFIX}outbox_backlog`, help: 'Outbox rows not yet published (all processes of the deployment)', registers: [registry] });
export const outboxOldestAge = new Gauge({ name: `${PREFIX}outbox_oldest_age_seconds`, help: 'Age of the oldest unpublished outbox row; 0 when the outbox is empty', registers: [registry] });

export const timersFired = new Counter({ name: `${PREFIX}timers_fired_total`, help: 'Timers fired (turned into TIMER_FIRED messages) by this process', registers: [registry] });
export const timersDue = new Gauge({ name: `${PREFIX}timers_due`, help: 'Timers whose due time has passed and that have not fired yet (all processes)', registers: [registry] });

export const consumerHandled = new Counter({ name: `${PREFIX}consumer_handled_total`, help: 'Messages handled and acknowledged by this process, by consumer group and partition', labelNames: labelsGP, registers: [registry] });
export const consumerFailed = new Counter({ name: `${PREFIX}consumer_failed_total`, help: 'Failed handling attempts (each retry counts), by consumer group and partition', labelNames: labelsGP, registers: [registry] });
export const consumerDeadLettered = new Counter({ name: `${PREFIX}consumer_dead_lettered_total`, help: 'Messages parked in the dead letters by this process, by consumer group and partition', labelNames: labelsGP, registers: [registry] });
export const consumerPending = new Gauge({ name: `${PREFIX}consumer_pending`, help: 'Entries delivered to the group and not yet acknowledged, by group and partition (over its topics)', labelNames: labelsGP, registers: [registry] });
export const consumerLag = new Gauge({ name: `${PREFIX}consumer_lag`, help: 'Entries not yet delivered to the group, by group and partition (absent when Redis cannot tell)', labelNames: labelsGP, registers: [registry] });
export const partitionOwned = new Gauge({ name: `${PREFIX}consumer_partition_owned`, help: '1 when this process holds the lease of the partition, else 0', labelNames: labelsGP, registers: [registry] });

export const jobCounts = new Gauge({ name: `${PREFIX}job_queue_jobs`, help: 'BullMQ jobs by queue and state', labelNames: ['queue', 'state'] as const, registers: [registry] });

export const collections = new Counter({
  name: `${PREFIX}metrics_collections_total`,
  help: 'Reads of Postgres and Redis for the gauges (at most one per METRICS_CACHE_MS, whatever the number of scrapers)',
  registers: [registry],
});
export const collectionErrors = new Counter({ name: `${PREFIX}metrics_collection_errors_total`, help: 'Gauge collections that failed (the gauges keep their last values)', registers: [registry] });
