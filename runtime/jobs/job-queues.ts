import { Queue, Worker, type JobsOptions, type Processor } from 'bullmq';
import type { Logger } from '../logger';
import { createRedis, type Redis } from '../messaging/redis';

/**
 * BullMQ queues for side effects. Queue names are the context's; every key carries the
 * deployment's prefix, so deployments sharing one Redis never see each other's jobs.
 */
export class JobQueues {
  private readonly queues = new Map<string, Queue>();
  private readonly workers: Worker[] = [];
  private readonly connections: Redis[] = [];

  constructor(
    private readonly redisUrl: string,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {}

  private connection(): Redis {
    const c = createRedis(this.redisUrl, { lazyConnect: false, autoPipelining: false, connectionName: 'tributary-jobs' });
    this.connections.push(c);
    return c;
  }

  queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.connection(), prefix: this.prefix });
      this.queues.set(name, q);
    }
    return q;
  }

  async add(queue: string, name: string, data: unknown, options: JobsOptions = {}): Promise<void> {
    await this.queue(queue).add(name, data, { removeOnComplete: 1000, removeOnFail: 5000, ...options });
  }

  /** Worker role: processes a queue until {@link close}. */
  process(queue: string, processor: Processor, concurrency = 1): Worker {
    const worker = new Worker(queue, processor, {
      connection: this.connection(),
      prefix: this.prefix,
      concurrency,
      // A job whose worker died is back in the queue within about 20 s (lock expiry, then
      // BullMQ's two-phase stalled check) instead of about a minute with the defaults (30 s each).
      lockDuration: 10_000,
      stalledInterval: 5_000,
      // A job that stalls is retried, not failed: processors here re-check state before acting.
      maxStalledCount: 5,
    });
    worker.on('failed', (job, err) => this.log.warn({ queue, jobId: job?.id, err: err.message, attempts: job?.attemptsMade }, 'job failed'));
    this.workers.push(worker);
    return worker;
  }

  /** Workers finish their active jobs first; then queues and connections close. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    for (const c of this.connections) c.disconnect();
  }
}
