import { slotTag } from './slot-tags';

/**
 * Naming of Redis keys and partitions, in one place. Every key carries the configured
 * prefix. Everything a consumer touches in one command for partition n (the partition's
 * stream of each topic, its dead letters, its attempt counters) shares partition n's hash
 * tag, so on a Redis Cluster it is one slot; the partitions spread over the masters (see
 * {@link slotTag}).
 *
 * ```
 * <prefix>{p2-7}:orders             stream of topic "orders", partition 2
 * <prefix>{p2-7}dead-letters        dead letters of partition 2
 * <prefix>{p2-7}attempts:<group>    failed attempts of a group's pending entries in partition 2
 * <prefix>{leases:<group>}:p2       lease of partition 2 of a group (members: ...:members)
 * <prefix>{bull}:<queue>:...        BullMQ
 * ```
 */
export class Topology {
  private readonly tags: string[] = [];

  constructor(readonly prefix: string, readonly partitions: number) {}

  /** Partition of an actor: FNV-1a of its id, mod P (stable across processes and restarts). */
  partitionOf(actorId: string): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < actorId.length; i++) {
      h ^= actorId.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    return (h >>> 0) % this.partitions;
  }

  /** `accounts.p3`: the destination name used in spans and logs. */
  destination(topic: string, partition: number): string {
    return `${topic}.p${partition}`;
  }

  /** `<prefix>{p2-7}`: what every key of partition n starts with. */
  private partitionPrefix(partition: number): string {
    return `${this.prefix}{${(this.tags[partition] ??= slotTag(partition, this.partitions))}}`;
  }

  streamKey(topic: string, partition: number): string {
    return `${this.partitionPrefix(partition)}:${topic}`;
  }

  streamKeys(topic: string): string[] {
    return Array.from({ length: this.partitions }, (_, p) => this.streamKey(topic, p));
  }

  /** Inverse of {@link streamKey} (the partition comes from the tag, whatever P named it). */
  parseStreamKey(key: string): { topic: string; partition: number } {
    const parsed = parsePartitionKey(key.startsWith(this.prefix) ? key.slice(this.prefix.length) : '');
    if (!parsed || parsed.rest[0] !== ':') throw new Error(`Not a stream key: ${key}`);
    return { topic: parsed.rest.slice(1), partition: parsed.partition };
  }

  /** The dead letters of a partition: a stream in the partition's slot, so parking a message is one MULTI. */
  deadLetterKey(partition: number): string {
    return `${this.partitionPrefix(partition)}dead-letters`;
  }

  deadLetterKeys(): string[] {
    return Array.from({ length: this.partitions }, (_, p) => this.deadLetterKey(p));
  }

  /** A group's attempt counters of a partition's pending entries (deleted with their XACK, in one MULTI). */
  attemptsKey(group: string, partition: number): string {
    return `${this.partitionPrefix(partition)}attempts:${group}`;
  }

  /**
   * The live members of a consumer group's lease set. A group's lease keys share one hash tag,
   * so the lease script (which touches all of them) runs on one Redis Cluster shard.
   */
  membersKey(group: string): string {
    return `${this.prefix}{leases:${group}}:members`;
  }

  /** The lease of one partition of a consumer group: the owner's member id, with a TTL. */
  leaseKey(group: string, partition: number): string {
    return `${this.prefix}{leases:${group}}:p${partition}`;
  }

  /** BullMQ's prefix: one hash tag, as its scripts touch several keys of a queue (Redis Cluster). */
  bullPrefix(): string {
    return `${this.prefix}{bull}`;
  }
}

/** `{p2-7}<rest>` (a key without its prefix): the partition of its tag and what follows it. */
export function parsePartitionKey(unprefixed: string): { partition: number; rest: string } | undefined {
  const m = /^\{p(\d+)-\d+\}(.*)$/s.exec(unprefixed);
  return m ? { partition: Number(m[1]), rest: m[2] } : undefined;
}
