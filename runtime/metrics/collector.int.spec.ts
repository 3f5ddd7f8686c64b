import { expect } from 'chai';
import { IntHarness, TOPIC } from '../../test/support/int-fixtures';
import type { Db } from '../store/database';
import { isCluster, type Redis } from '../messaging/redis';
import { RuntimeMetrics } from './collector';
import { observeSagaDurations } from './commands';
import { registry } from './registry';
import { parseMetrics, sum } from '../../test/support/prometheus-text';

/** `target` with its calls of `methods` counted. */
function counting<T extends object>(target: T, methods: string[], counts: Record<string, number>): T {
  return new Proxy(target, {
    get(t, prop, receiver) {
      const value = Reflect.get(t, prop, receiver);
      if (typeof prop === 'string' && methods.includes(prop) && typeof value === 'function') {
        return (...args: unknown[]) => {
          counts[prop] = (counts[prop] ?? 0) + 1;
          return (value as (...a: unknown[]) => unknown).apply(t, args);
        };
      }
      return typeof value === 'function' ? value.bind(t) : value;
    },
  });
}

describe('RuntimeMetrics (the gauges read from Postgres and Redis)', function () {
  this.timeout(20_000);
  let h: IntHarness;

  before(async () => {
    h = await IntHarness.open('metrics-collector');
  });
  after(async () => h.close());

  const read = async () => parseMetrics(await registry.metrics());

  it('reads each store once per cache period, however many refresh at once, and reports what they hold', async () => {
    await h.db.raw(`INSERT INTO outbox (topic, partition, message, created_at) VALUES ('t', 0, '{}', now() - interval '30 seconds'), ('t', 1, '{}', now())`);
    await h.db.raw(`INSERT INTO timers (actor_type, actor_id, name, topic, due_at, correlation_id) VALUES ('a', '1', 'n', 't', now() - interval '1 second', 'c'), ('a', '2', 'n', 't', now() + interval '1 hour', 'c')`);
    const key = h.topology.streamKey(TOPIC, 2);
    await h.redis.xgroup('CREATE', key, 'things.metrics', '0', 'MKSTREAM');
    await h.redis.xadd(key, '*', 'm', '{}');
    await h.redis.xadd(key, '*', 'm', '{}');
    await h.redis.lpush(`${h.topology.bullPrefix()}:q1:wait`, 'a', 'b', 'c');

    // Sagas that ended in earlier tests of this process wait for a scrape to read their
    // durations: read them now, so that the count below is this collector's alone.
    await observeSagaDurations(async (streams) => streams.map(() => null));
    const reads: Record<string, number> = {};
    const metrics = new RuntimeMetrics(
      {
        db: counting(h.db, ['raw'], reads) as Db,
        // On a cluster the report's commands go out one by one (keyedBatch): count its one TIME instead.
        redis: counting(h.redis, [isCluster(h.redis) ? 'time' : 'pipeline'], reads) as Redis,
        topology: h.topology,
        consumers: [{ group: 'things.metrics', topics: [TOPIC], counts: { handled: [0, 0, 5, 0], failed: [0, 0, 1, 0], deadLettered: [0, 0, 0, 0] } }],
        relay: { published: 7 },
        jobQueues: ['q1'],
      },
      60_000,
    );
    await Promise.all(Array.from({ length: 25 }, () => metrics.refresh()));
    // One query for the outbox and timers, one for the fencing tokens; a pipeline for the
    // partition report and one for the queue counts.
    const once = isCluster(h.redis) ? { raw: 2, time: 1 } : { raw: 2, pipeline: 2 };
    expect(reads).to.deep.equal(once);
    await metrics.refresh();
    expect(reads).to.deep.equal(once);

    const s = await read();
    expect(sum(s, 'tributary_outbox_backlog')).to.equal(2);
    expect(sum(s, 'tributary_outbox_oldest_age_seconds')).to.be.within(29, 40);
    expect(sum(s, 'tributary_timers_due')).to.equal(1);
    expect(sum(s, 'tributary_consumer_lag', { group: 'things.metrics', partition: '2' })).to.equal(2);
    expect(sum(s, 'tributary_consumer_pending', { group: 'things.metrics', partition: '2' })).to.equal(0);
    expect(sum(s, 'tributary_consumer_partition_owned', { group: 'things.metrics' })).to.equal(0);
    expect(sum(s, 'tributary_consumer_handled_total', { group: 'things.metrics', partition: '2' })).to.equal(5);
    expect(sum(s, 'tributary_consumer_failed_total', { group: 'things.metrics', partition: '2' })).to.equal(1);
    expect(sum(s, 'tributary_job_queue_jobs', { queue: 'q1', state: 'waiting' })).to.equal(3);
  });
});
