import { randomBytes, randomUUID } from 'node:crypto';
import { loadConfig, type Config } from '../../../runtime/config';
import { createLogger } from '../../../runtime/logger';
import { createDb, type Db } from '../../../runtime/store/database';
import { migrateLatest } from '../../../runtime/store/migrate';
import { enqueueMessages, type OutboxMessage } from '../../../runtime/store/event-store';
import { connectRedis, createRedis, type Redis } from '../../../runtime/messaging/redis';
import { Topology } from '../../../runtime/messaging/topology';
import { OutboxRelay } from '../../../runtime/messaging/outbox-relay';
import { StreamConsumer } from '../../../runtime/messaging/stream-consumer';
import type { Envelope } from '../../../runtime/messaging/envelope';
import { deleteKeys, tunedEnv, type BenchEnv } from '../env';
import { cpuMsSince, waitUntil } from '../load';
import type { Figure, Suite, SuiteContext } from '../suite';

/*
 * Pipeline: outbox → relay → Redis stream partitions → consumer → inbox, messages per second.
 *
 * The outbox is pre-filled with M envelopes of realistic size for many actors; then an
 * OutboxRelay and a StreamConsumer (whose handler does nothing, but still runs in the
 * consumer's transaction with its inbox insert) run together until all M are handled.
 * Baseline: raw ioredis XADD (pipelined per relay batch) and XREADGROUP + XACK (per consumer
 * batch) of the same payloads, producer and consumer concurrently, on the same Redis.
 * Then each side alone, tributary and raw, to show which side costs what.
 */

const TOPIC = 'bench';
const GROUP = 'bench.noop';
const MESSAGES_PER_ACTOR = 10; // every actor gets this many messages, in version order
const TIMEOUT_MS = 120_000;

interface Shape {
  label: string;
  partitions: number;
  relayBatch: number;
  consumerBatch: number;
}

/** Messages per second and this process's CPU per message. */
interface Run {
  rate: number;
  cpuUs: number;
}

interface Payload {
  key: string;
  json: string;
}

/** A message as the accounts context writes one, with a trace context as a traced deployment has. */
function envelope(actorId: string, version: number): Envelope {
  const id = randomUUID();
  return {
    id,
    type: 'ACCOUNT_CREATED',
    stream: TOPIC,
    actor: { type: 'account', id: actorId },
    version,
    correlationId: id,
    causationId: id,
    traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`,
    occurredAt: new Date().toISOString(),
    data: { firstName: 'Ada', lastName: 'Lovelace', email: `ada-${actorId.slice(0, 8)}@example.com` },
  };
}

/** Times `fn` (which handles m messages) in wall-clock and CPU of this process. */
async function measure(m: number, fn: () => Promise<void>): Promise<Run> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  await fn();
  const elapsed = performance.now() - started;
  return { rate: (m * 1000) / elapsed, cpuUs: (cpuMsSince(cpu) * 1000) / m };
}

class Bench {
  private readonly log = createLogger('silent');
  private groups = 0;

  constructor(
    readonly env: BenchEnv,
    readonly config: Config,
    readonly db: Db,
    readonly redis: Redis,
    readonly blocking: Redis,
  ) {}

  /** Empty outbox, inbox and streams. */
  async reset(): Promise<void> {
    await this.db.raw('TRUNCATE outbox, inbox');
    await deleteKeys(this.env.redisPrefix);
  }

  /**
   * Writes M envelopes (M/10 actors × 10 versions, interleaved) through enqueueMessages into
   * the outbox and keeps a copy in `outbox_seed`, so later runs refill the outbox in one
   * statement. Returns rows/s of the enqueueMessages part.
   */
  async seed(m: number, topology: Topology): Promise<number> {
    const actors = Array.from({ length: Math.max(1, Math.ceil(m / MESSAGES_PER_ACTOR)) }, () => randomUUID());
    const started = performance.now();
    const chunk: OutboxMessage[] = [];
    for (let i = 0; i < m; i++) {
      const actor = actors[i % actors.length];
      chunk.push({ topic: TOPIC, partition: topology.partitionOf(actor), message: envelope(actor, Math.floor(i / actors.length) + 1) });
      if (chunk.length === 2_500 || i === m - 1) {
        await enqueueMessages(this.db, chunk);
        chunk.length = 0;
      }
    }
    const rate = (m * 1000) / (performance.now() - started);
    await this.db.raw('DROP TABLE IF EXISTS outbox_seed');
    await this.db.raw('CREATE TABLE outbox_seed AS SELECT id, message FROM outbox');
    return rate;
  }

  /**
   * Empties outbox, inbox and streams, then puts the first m seeded envelopes back in the
   * outbox, spread over `partitions` by actor id (a stable per-actor hash, as the runtime's).
   */
  async refill(m: number, partitions: number): Promise<void> {
    await this.reset();
    await this.db.raw(
      `INSERT INTO outbox (topic, partition, message)
       SELECT ?, mod(abs(hashtext(message->'actor'->>'id')), ?), message FROM outbox_seed ORDER BY id LIMIT ?`,
      [TOPIC, partitions, m],
    );
  }

  /** The outbox rows as the relay publishes them (stream key and `message::text`), in id order. */
  async payloads(topology: Topology): Promise<Payload[]> {
    const { rows } = await this.db.raw<{ rows: { partition: number; json: string }[] }>('SELECT partition, message::text AS json FROM outbox ORDER BY id');
    return rows.map((r) => ({ key: topology.streamKey(TOPIC, r.partition), json: r.json }));
  }

  private relay(topology: Topology, shape: Shape): OutboxRelay {
    return new OutboxRelay(this.db, this.redis, topology, { ...this.config.relay, batchSize: shape.relayBatch, databaseUrl: this.env.databaseUrl }, this.log);
  }

  private consumer(topology: Topology, shape: Shape): StreamConsumer {
    return new StreamConsumer(
      this.db,
      this.redis,
      this.blocking,
      topology,
      { ...this.config.consumer, batchSize: shape.consumerBatch, group: `${GROUP}${++this.groups}`, topics: [TOPIC], handler: async () => undefined },
      this.log,
    );
  }

  /** Relay and consumer together from a full outbox, until all M are handled; also when the relay finished. */
  async together(m: number, shape: Shape): Promise<Run & { relayRate: number; inbox: number }> {
    const topology = new Topology(this.env.redisPrefix, shape.partitions);
    const relay = this.relay(topology, shape);
    const consumer = this.consumer(topology, shape);
    let relayDone = 0;
    const started = performance.now();
    const run = await measure(m, async () => {
      await consumer.start();
      await relay.start();
      const ok = await waitUntil(() => {
        if (!relayDone && relay.published >= m) relayDone = performance.now();
        return consumer.handled >= m;
      }, TIMEOUT_MS, 2);
      if (!ok) throw new Error(`pipeline ${shape.label}: ${consumer.handled}/${m} handled after ${TIMEOUT_MS} ms`);
    }).finally(() => Promise.all([consumer.stop(), relay.stop(Date.now())]));
    const inbox = Number((await this.db.raw<{ rows: { n: string }[] }>('SELECT count(*) AS n FROM inbox')).rows[0].n);
    return { ...run, relayRate: (m * 1000) / (relayDone - started), inbox };
  }

  /** The relay alone, from a full outbox to Redis. */
  async relayAlone(m: number, shape: Shape): Promise<Run> {
    const relay = this.relay(new Topology(this.env.redisPrefix, shape.partitions), shape);
    return measure(m, async () => {
      await relay.start();
      if (!(await waitUntil(() => relay.published >= m, TIMEOUT_MS, 2))) throw new Error(`relay alone: ${relay.published}/${m} published after ${TIMEOUT_MS} ms`);
    }).finally(() => relay.stop(Date.now()));
  }

  /** A consumer alone, as a new group over streams that already hold the M entries. */
  async consumerAlone(m: number, shape: Shape): Promise<Run> {
    const consumer = this.consumer(new Topology(this.env.redisPrefix, shape.partitions), shape);
    return measure(m, async () => {
      await consumer.start();
      if (!(await waitUntil(() => consumer.handled >= m, TIMEOUT_MS, 2))) throw new Error(`consumer alone: ${consumer.handled}/${m} handled after ${TIMEOUT_MS} ms`);
    }).finally(() => consumer.stop());
  }

  /** Raw ioredis XADD of the payloads, in pipelines of the relay's batch size. */
  async rawProduce(payloads: Payload[], shape: Shape): Promise<void> {
    const maxLen = this.config.relay.streamMaxLen;
    for (let i = 0; i < payloads.length; i += shape.relayBatch) {
      const p = this.redis.pipeline();
      for (const { key, json } of payloads.slice(i, i + shape.relayBatch)) {
        if (maxLen > 0) p.xadd(key, 'MAXLEN', '~', maxLen, '*', 'm', json);
        else p.xadd(key, '*', 'm', json);
      }
      await p.exec();
    }
  }

  /** A raw group over the partition streams, created at the start of each stream. */
  async rawGroup(shape: Shape): Promise<string> {
    const group = `raw${++this.groups}`;
    for (const key of new Topology(this.env.redisPrefix, shape.partitions).streamKeys(TOPIC)) {
      await this.redis.xgroup('CREATE', key, group, '0', 'MKSTREAM');
    }
    return group;
  }

  /** Raw ioredis XREADGROUP (COUNT = consumer batch, per stream) and XACK of each read, until m are acknowledged. */
  async rawConsume(m: number, group: string, shape: Shape): Promise<void> {
    const keys = new Topology(this.env.redisPrefix, shape.partitions).streamKeys(TOPIC);
    let acked = 0;
    const deadline = Date.now() + TIMEOUT_MS;
    while (acked < m && Date.now() < deadline) {
      const reply = (await this.blocking.xreadgroup(
        'GROUP', group, 'raw', 'COUNT', shape.consumerBatch, 'BLOCK', this.config.consumer.blockMs,
        'STREAMS', ...keys, ...keys.map(() => '>'),
      )) as [string, [string, string[]][]][] | null;
      if (!reply) continue;
      const p = this.redis.pipeline();
      for (const [key, entries] of reply) {
        if (entries.length === 0) continue;
        p.xack(key, group, ...entries.map(([id]) => id));
        acked += entries.length;
      }
      await p.exec();
    }
    if (acked < m) throw new Error(`raw redis: ${acked}/${m} acknowledged after ${TIMEOUT_MS} ms`);
  }

  /** Raw producer and consumer concurrently. */
  async rawTogether(payloads: Payload[], shape: Shape): Promise<Run> {
    const group = await this.rawGroup(shape);
    return measure(payloads.length, async () => {
      await Promise.all([this.rawProduce(payloads, shape), this.rawConsume(payloads.length, group, shape)]);
    });
  }
}

export const pipelineSuite: Suite = {
  name: 'pipeline',
  description: 'outbox relay + stream consumer (no-op handler, inbox insert) vs raw ioredis XADD/XREADGROUP/XACK',
  async run(ctx: SuiteContext): Promise<Figure[]> {
    const m = ctx.knob('MESSAGES', 50_000);
    const variants = ctx.knob('VARIANTS', 1) > 0;
    const env = await ctx.freshEnv('pipeline');
    const config = loadConfig({ ...tunedEnv(), DATABASE_URL: env.databaseUrl, REDIS_URL: env.redisUrl, REDIS_PREFIX: env.redisPrefix, LOG_LEVEL: 'silent' });
    const defaults: Shape = {
      label: 'defaults',
      partitions: config.partitions,
      relayBatch: config.relay.batchSize,
      consumerBatch: config.consumer.batchSize,
    };
    const shapeText = (s: Shape) => `P=${s.partitions}, relay batch ${s.relayBatch}, consumer batch ${s.consumerBatch}`;
    ctx.progress(`pipeline: M=${m} messages, ${shapeText(defaults)}, DB_POOL_MAX=${config.db.poolMax}`);

    const db = createDb(env.databaseUrl, config.db.poolMax);
    let redis: Redis | undefined;
    const blocking = createRedis(env.redisUrl, { lazyConnect: false, connectionName: 'tributary-bench-blocking' });
    try {
      await migrateLatest(env.databaseUrl, []);
      redis = await connectRedis(env.redisUrl);
      const bench = new Bench(env, config, db, redis, blocking);
      const figures: Figure[] = [];
      const share = (a: Run, b: Run) => ({ value: a.rate / b.rate, label: 'tributary ÷ raw' });
      const cpu = (name: string, a: Run, b: Run): Figure => ({
        name,
        value: a.cpuUs,
        unit: 'µs/msg',
        baseline: b.cpuUs,
        ratio: { value: a.cpuUs / b.cpuUs, label: 'tributary ÷ raw' },
      });

      const topology = new Topology(env.redisPrefix, defaults.partitions);
      const prefillRate = await bench.seed(Math.max(m, 5_000), topology);

      // Warm-up (JIT, pool connections), not measured.
      const warm = Math.min(5_000, m);
      await bench.refill(warm, defaults.partitions);
      await bench.together(warm, defaults);

      // Headline: defaults, relay and consumer together; raw Redis on the same payloads.
      await bench.refill(m, defaults.partitions);
      const payloads = await bench.payloads(topology);
      const avgBytes = payloads.reduce((n, p) => n + Buffer.byteLength(p.json), 0) / payloads.length;
      const headline = await bench.together(m, defaults);
      ctx.progress(`  together: ${headline.rate.toFixed(0)} msg/s (relay finished at ${headline.relayRate.toFixed(0)} msg/s), inbox ${headline.inbox}`);
      await bench.reset();
      const raw = await bench.rawTogether(payloads, defaults);
      ctx.progress(`  raw together: ${raw.rate.toFixed(0)} msg/s`);

      // Where the time goes: each side alone, tributary then raw.
      await bench.refill(m, defaults.partitions);
      const relay = await bench.relayAlone(m, defaults);
      const consumer = await bench.consumerAlone(m, defaults);
      await bench.reset();
      const group = await bench.rawGroup(defaults);
      const rawProducer = await measure(m, () => bench.rawProduce(payloads, defaults));
      const rawConsumer = await measure(m, () => bench.rawConsume(m, group, defaults));
      await bench.reset();
      ctx.progress(`  alone: relay ${relay.rate.toFixed(0)} vs raw XADD ${rawProducer.rate.toFixed(0)}; consumer ${consumer.rate.toFixed(0)} vs raw XREADGROUP+XACK ${rawConsumer.rate.toFixed(0)} msg/s`);

      figures.push({
        name: 'raw redis XADD→XREADGROUP→XACK',
        value: raw.rate,
        unit: 'msg/s',
        note: `ioredis, ${shapeText(defaults)}, producer and consumer concurrently; ${m} payloads of ${avgBytes.toFixed(0)} B on average`,
      });
      figures.push({
        name: 'relay + consumer (defaults)',
        value: headline.rate,
        unit: 'msg/s',
        baseline: raw.rate,
        ratio: share(headline, raw),
        goal: { op: '>=', value: 0.6 },
        note: `from a full outbox until consumer.handled = ${m} (inbox rows: ${headline.inbox}); no-op handler inside the inbox transaction`,
      });
      figures.push({ name: '  relay finished at', value: headline.relayRate, unit: 'msg/s', note: 'M ÷ time until the relay had published all M, in the same run' });
      figures.push(cpu('  node CPU per message, together', headline, raw));
      figures.push({ name: '  relay alone', value: relay.rate, unit: 'msg/s', baseline: rawProducer.rate, ratio: share(relay, rawProducer), note: 'baseline: raw XADD pipelines alone' });
      figures.push(cpu('  node CPU per message, relay', relay, rawProducer));
      figures.push({
        name: '  consumer alone',
        value: consumer.rate,
        unit: 'msg/s',
        baseline: rawConsumer.rate,
        ratio: share(consumer, rawConsumer),
        note: 'a new group over streams already holding the M entries; baseline: raw XREADGROUP + XACK alone',
      });
      figures.push(cpu('  node CPU per message, consumer', consumer, rawConsumer));
      figures.push({ name: '  outbox bulk prefill', value: prefillRate, unit: 'rows/s', note: 'enqueueMessages, 2 500 envelopes per statement; not part of the pipeline figure (later runs refill the outbox from a copy)' });

      if (variants) {
        const vm = Math.min(m, 20_000);
        const shapes: Shape[] = [
          { label: 'P=16', partitions: 16, relayBatch: defaults.relayBatch, consumerBatch: defaults.consumerBatch },
          { label: 'big batches', partitions: defaults.partitions, relayBatch: 2_000, consumerBatch: 1_000 },
        ];
        for (const shape of shapes) {
          await bench.refill(vm, shape.partitions);
          const vPayloads = await bench.payloads(new Topology(env.redisPrefix, shape.partitions));
          const r = await bench.together(vm, shape);
          await bench.reset();
          const b = await bench.rawTogether(vPayloads, shape);
          await bench.reset();
          ctx.progress(`  variant ${shape.label}: ${r.rate.toFixed(0)} msg/s vs raw ${b.rate.toFixed(0)}`);
          figures.push({
            name: `variant: ${shape.label}`,
            value: r.rate,
            unit: 'msg/s',
            baseline: b.rate,
            ratio: share(r, b),
            note: `${shapeText(shape)}, M=${vm}; relay finished at ${r.relayRate.toFixed(0)} msg/s`,
          });
        }
      }
      return figures;
    } finally {
      blocking.disconnect();
      redis?.disconnect();
      await db.destroy();
    }
  },
};
