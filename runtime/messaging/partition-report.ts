import type { Queryable } from '../store/database';
import { keyedBatch, type Redis } from './redis';
import type { Topology } from './topology';
import { partitionStreams } from './stream-scan';

/** One partition of one consumer group, as an operator sees it. */
export interface PartitionStatus {
  partition: number;
  /** Member id of the lease holder (`host-pid-random`), or null when nobody holds it. */
  owner: string | null;
  /** Milliseconds left on the lease; null when nobody holds it. */
  leaseExpiresInMs: number | null;
  /** Fencing token of the last owner that won it (Postgres); null when never owned. */
  token: number | null;
  /** Entries delivered to the group and not yet acknowledged, over the group's topics. */
  pending: number;
  /** Entries not yet delivered to the group, over its topics; null when Redis cannot tell (after trimming). */
  lag: number | null;
}

export interface GroupPartitions {
  group: string;
  topics: string[];
  /** Live members of the group's lease set, with the age of their last heartbeat. */
  members: { id: string; lastSeenMsAgo: number }[];
  partitions: PartitionStatus[];
}

/** The groups to describe: each consumer group with the topics it reads. */
export interface GroupTopics {
  group: string;
  topics: string[];
}

type XinfoGroup = (string | number | null)[];

/**
 * Who owns what and how far behind each partition is, for `GET /v1/ops/partitions` and
 * `tributary partitions`. One Redis pipeline and one query, whatever the number of groups.
 */
export async function describePartitions(db: Queryable, redis: Redis, topology: Topology, groups: readonly GroupTopics[]): Promise<GroupPartitions[]> {
  const P = topology.partitions;
  const pipeline = keyedBatch(redis);
  pipeline.time();
  for (const { group, topics } of groups) {
    pipeline.zrange(topology.membersKey(group), 0, -1, 'WITHSCORES');
    for (let p = 0; p < P; p++) {
      pipeline.get(topology.leaseKey(group, p));
      pipeline.pttl(topology.leaseKey(group, p));
      for (const topic of topics) pipeline.xinfo('GROUPS', topology.streamKey(topic, p));
    }
  }
  const replies = (await pipeline.exec()) ?? [];
  const { rows } = await db.raw<{ rows: { consumer: string; partition: number; token: string }[] }>(
    'SELECT consumer, partition, token FROM partition_owners WHERE consumer = ANY(?::text[])',
    [groups.map((g) => g.group)],
  );
  const tokens = new Map(rows.map((r) => [`${r.consumer}/${r.partition}`, Number(r.token)]));

  let i = 0;
  const next = () => {
    const [err, value] = replies[i++];
    // A stream that does not exist yet has no groups: nothing pending, nothing behind.
    if (err) {
      if (String(err.message).includes('no such key')) return [];
      throw err;
    }
    return value;
  };
  const [seconds, micros] = next() as [string, string];
  const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  const out: GroupPartitions[] = [];
  for (const { group, topics } of groups) {
    const flat = next() as string[];
    const members = [];
    for (let m = 0; m < flat.length; m += 2) members.push({ id: flat[m], lastSeenMsAgo: Math.max(0, now - Number(flat[m + 1])) });
    const partitions: PartitionStatus[] = [];
    for (let p = 0; p < P; p++) {
      const owner = next() as string | null;
      const ttl = next() as number;
      let pending = 0;
      let lag: number | null = 0;
      for (let t = 0; t < topics.length; t++) {
        const info = (next() as XinfoGroup[]).map(fields).find((g) => g.name === group);
        if (!info) continue;
        pending += Number(info.pending ?? 0);
        lag = lag === null || info.lag === null || info.lag === undefined ? null : lag + Number(info.lag);
      }
      partitions.push({ partition: p, owner, leaseExpiresInMs: owner ? Math.max(0, ttl) : null, token: tokens.get(`${group}/${p}`) ?? null, pending, lag });
    }
    out.push({ group, topics, members, partitions });
  }
  return out;
}

/** A partition stream that holds entries but that no partition of this PARTITIONS reads. */
export interface UnreadStream {
  key: string;
  length: number;
}

/**
 * Non-empty partition streams of the prefix that no partition of this layout reads (a
 * partition number of PARTITIONS or more, or a key tagged under another PARTITIONS): their
 * entries are stranded until `tributary repartition` moves them. One SCAN of the prefix, and
 * an XLEN per such stream.
 */
export async function unreadStreams(redis: Redis, topology: Topology): Promise<UnreadStream[]> {
  // Not a key of the current layout: a partition past PARTITIONS, or the tag another PARTITIONS gave it.
  const beyond = [...(await partitionStreams(redis, topology.prefix))].flatMap(([topic, list]) =>
    list.filter((s) => s.partition >= topology.partitions || s.key !== topology.streamKey(topic, s.partition)),
  );
  const out: UnreadStream[] = [];
  for (const { key } of beyond) {
    const length = await redis.xlen(key);
    if (length > 0) out.push({ key, length });
  }
  return out;
}

function fields(flat: XinfoGroup): Record<string, string | number | null> {
  const o: Record<string, string | number | null> = {};
  for (let k = 0; k < flat.length; k += 2) o[String(flat[k])] = flat[k + 1];
  return o;
}

/** A plain-text table of a report, one line per partition, for the CLI. */
export function formatPartitions(report: readonly GroupPartitions[]): string {
  const lines: string[] = [];
  for (const g of report) {
    lines.push(`${g.group} (${g.topics.join(', ')}): ${g.members.length} live member(s)`);
    for (const p of g.partitions) {
      const owner = p.owner ? `${p.owner} (lease ${p.leaseExpiresInMs} ms)` : 'unowned';
      lines.push(`  p${p.partition}  token ${p.token ?? '-'}  pending ${p.pending}  lag ${p.lag ?? '?'}  ${owner}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Warning lines for streams no partition reads, for the CLI (empty string when there are none). */
export function formatUnreadStreams(unread: readonly UnreadStream[]): string {
  return unread.map((u) => `UNREAD ${u.key}: ${u.length} entries no partition reads (a larger PARTITIONS wrote them): run tributary repartition\n`).join('');
}
