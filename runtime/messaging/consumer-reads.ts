import type { Cluster } from 'ioredis';
import type IORedis from 'ioredis';
import { isCluster, nodeFor, type Redis } from './redis';
import type { StreamReply } from './consumer-entry';

/** The stream keys of one owned partition (one per topic of the group): one hash slot. */
export type PartitionKeys = readonly string[];

/**
 * A consumer's XREADGROUP reads over the partitions it owns, and the cutting short of a
 * blocked read (CLIENT UNBLOCK: a partition was given back, or the consumer stops).
 *
 * On one Redis, one XREADGROUP reads every owned partition's keys. A Redis Cluster refuses a
 * command whose keys lie in different slots, and each partition is a slot of its own, so
 * there the consumer reads each partition with its own XREADGROUP: pending reads side by
 * side on the shared client; blocking reads each on a client of its own (a blocked command
 * holds its connection), and the first that brings entries unblocks the others, so a round
 * never waits for the block timeout of quiet partitions while another one has work.
 */
export interface StreamReads {
  /** Entries delivered before and not acknowledged (id 0), up to `count` per key. */
  pending(partitions: readonly PartitionKeys[], count: number): Promise<StreamReply>;
  /** New entries (id >), up to `count` per key, waiting up to `blockMs` for some to arrive. */
  fresh(partitions: readonly PartitionKeys[], count: number, blockMs: number): Promise<StreamReply>;
  /** Cuts a blocked read short: it returns what it has (nothing). */
  interrupt(): Promise<void>;
  /** Learns what {@link interrupt} needs; call before the first read. */
  start(): Promise<void>;
  /** Closes the connections it opened itself. */
  close(): void;
}

export function streamReads(redis: Redis, blocking: Redis, group: string, consumer: string): StreamReads {
  return isCluster(redis) && isCluster(blocking) ? new PerSlotReads(redis, blocking, group, consumer) : new OneRead(redis, blocking as IORedis, group, consumer);
}

const args = (group: string, consumer: string, count: number, block: number | undefined, keys: readonly string[], from: string): (string | number)[] => [
  'GROUP', group, consumer, 'COUNT', count,
  ...(block === undefined ? [] : ['BLOCK', block]),
  'STREAMS', ...keys, ...keys.map(() => from),
];

type XReadGroup = (...a: (string | number)[]) => Promise<unknown>;
const xreadgroup = (r: Redis, a: (string | number)[]) => (r.xreadgroup as unknown as XReadGroup).apply(r, a) as Promise<StreamReply>;

/** One Redis: every partition in one command. */
class OneRead implements StreamReads {
  private clientId?: number;
  private blocked = false;

  constructor(
    private readonly redis: Redis,
    private readonly blocking: IORedis,
    private readonly group: string,
    private readonly consumer: string,
  ) {}

  async start(): Promise<void> {
    // A reconnection (Redis restarted) gives the connection a new id.
    const learnId = async () => void (this.clientId = Number(await this.blocking.client('ID')));
    await learnId();
    this.blocking.on('ready', () => void learnId().catch(() => undefined));
  }

  pending(partitions: readonly PartitionKeys[], count: number): Promise<StreamReply> {
    return xreadgroup(this.redis, args(this.group, this.consumer, count, undefined, partitions.flat(), '0'));
  }

  async fresh(partitions: readonly PartitionKeys[], count: number, blockMs: number): Promise<StreamReply> {
    this.blocked = true;
    try {
      return await xreadgroup(this.blocking, args(this.group, this.consumer, count, blockMs, partitions.flat(), '>'));
    } finally {
      this.blocked = false;
    }
  }

  async interrupt(): Promise<void> {
    if (this.blocked && this.clientId !== undefined) await this.redis.client('UNBLOCK', this.clientId).catch(() => undefined);
  }

  close(): void {}
}

/** A blocked read in flight on a cluster: where it waits, to unblock it. */
interface InFlight {
  key: string;
  client: Cluster;
  done: boolean;
}

/** A Redis Cluster: one command per partition (slot). */
class PerSlotReads implements StreamReads {
  /** Blocking clients by partition (by its first key): a blocked read holds its connection. */
  private readonly clients = new Map<string, Cluster>();
  /** Connection ids of the blocking clients' node connections. */
  private readonly ids = new WeakMap<IORedis, number>();
  private readonly inFlight = new Set<InFlight>();

  constructor(
    private readonly redis: Cluster,
    private readonly blocking: Cluster,
    private readonly group: string,
    private readonly consumer: string,
  ) {}

  async start(): Promise<void> {}

  async pending(partitions: readonly PartitionKeys[], count: number): Promise<StreamReply> {
    const replies = await Promise.all(partitions.map((keys) => xreadgroup(this.redis, args(this.group, this.consumer, count, undefined, keys, '0'))));
    return merge(replies);
  }

  async fresh(partitions: readonly PartitionKeys[], count: number, blockMs: number): Promise<StreamReply> {
    this.closeUnread(partitions);
    const reads = await Promise.all(partitions.map(async (keys) => {
      const client = await this.clientFor(keys[0]);
      const node = nodeFor(client, keys[0]);
      // The id of the node connection this read will block, learnt before it blocks.
      if (node && !this.ids.has(node)) {
        this.ids.set(node, Number(await node.client('ID')));
        node.once('ready', () => this.ids.delete(node));
      }
      return { keys, client };
    }));
    const flights: InFlight[] = [];
    let first = true;
    const settled = await Promise.allSettled(
      reads.map(({ keys, client }) => {
        const flight: InFlight = { key: keys[0], client, done: false };
        flights.push(flight);
        this.inFlight.add(flight);
        return xreadgroup(client, args(this.group, this.consumer, count, blockMs, keys, '>')).finally(() => {
          flight.done = true;
          this.inFlight.delete(flight);
        }).then((reply) => {
          // The first partition with entries ends the others' wait; what they read meanwhile is kept.
          if (first && (reply?.length ?? 0) > 0) {
            first = false;
            void this.chase(flights);
          }
          return reply;
        });
      }),
    );
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    return merge(settled.map((s) => (s as PromiseFulfilledResult<StreamReply>).value));
  }

  async interrupt(): Promise<void> {
    await Promise.all([...this.inFlight].map(async (flight) => {
      const node = nodeFor(flight.client, flight.key);
      const id = node && this.ids.get(node);
      if (!node || id === undefined || flight.done) return;
      // Sent over the shared client's connection to the same node: the blocked one is busy.
      const address = `${node.options.host}:${node.options.port}`;
      const same = this.redis.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === address);
      await same?.client('UNBLOCK', id).catch(() => undefined);
    }));
  }

  /**
   * Unblocks these reads until all have returned: an UNBLOCK that reaches a node before the
   * read it is meant for finds nothing to unblock, and the round would wait the whole block.
   */
  private async chase(flights: InFlight[]): Promise<void> {
    while (flights.some((f) => !f.done)) {
      await this.interrupt();
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private async clientFor(key: string): Promise<Cluster> {
    let client = this.clients.get(key);
    if (!client) {
      client = this.blocking.duplicate();
      client.on('error', () => undefined);
      this.clients.set(key, client);
    }
    // Until it is ready its slot map is empty and the read could not be unblocked.
    if (client.status !== 'ready') await ready(client, 2_000);
    return client;
  }

  /** Closes the blocking clients of partitions no longer read (given back to another worker). */
  private closeUnread(partitions: readonly PartitionKeys[]): void {
    if (this.clients.size <= partitions.length) return;
    const read = new Set(partitions.map((keys) => keys[0]));
    for (const [key, client] of this.clients) {
      if (read.has(key)) continue;
      client.disconnect();
      this.clients.delete(key);
    }
  }

  close(): void {
    for (const c of this.clients.values()) c.disconnect();
    this.clients.clear();
  }
}

/** Resolves when the client is ready, or after `ms` (its commands then wait in its offline queue). */
function ready(client: Cluster, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    client.once('ready', done);
    if (client.status === 'wait') client.connect().catch(() => undefined);
  });
}

function merge(replies: StreamReply[]): StreamReply {
  const all = replies.flatMap((r) => r ?? []);
  return all.length ? all : null;
}
