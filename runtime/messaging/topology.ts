/**
 * Naming of Redis keys and partitions, in one place. Every key carries the configured
 * prefix; stream keys carry a hash tag per partition so partitions spread across the
 * shards of a Redis Cluster.
 */
export class Topology {
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

  streamKey(topic: string, partition: number): string {
    return `${this.prefix}{${topic}.p${partition}}`;
  }

  streamKeys(topic: string): string[] {
    return Array.from({ length: this.partitions }, (_, p) => this.streamKey(topic, p));
  }

  /** Inverse of {@link streamKey}. */
  parseStreamKey(key: string): { topic: string; partition: number } {
    const m = /\{(.+)\.p(\d+)\}$/.exec(key);
    if (!m) throw new Error(`Not a stream key: ${key}`);
    return { topic: m[1], partition: Number(m[2]) };
  }

  deadLetterKey(): string {
    return `${this.prefix}dead-letters`;
  }

  attemptsKey(group: string): string {
    return `${this.prefix}attempts:${group}`;
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

  bullPrefix(): string {
    return `${this.prefix}bull`;
  }
}
