import type { Redis } from './redis';
import type { Topology } from './topology';

/**
 * Finding a deployment's partition streams by scanning its prefix, whatever PARTITIONS wrote
 * them: the repartition reads them all, and the partitions report flags those no partition reads.
 */

/** Suffix of the temporary streams a repartition writes (same hash tag as the final key). */
export const MOVING = ':moving';

/** A stream key's topic and partition, or undefined when it is not a partition stream of this prefix. */
export function parseKey(topology: Topology, key: string): { topic: string; partition: number } | undefined {
  if (!key.startsWith(topology.prefix) || key.endsWith(MOVING)) return undefined;
  const m = /^\{(.+)\.p(\d+)\}$/.exec(key.slice(topology.prefix.length));
  return m ? { topic: m[1], partition: Number(m[2]) } : undefined;
}

/** Every key of the prefix matching `{*` (partition streams, their temporary copies, leases), sorted. */
export async function scanKeys(redis: Redis, prefix: string, type?: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}{*`;
  do {
    const [next, batch] = type ? await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000, 'TYPE', type) : await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return [...new Set(keys)].sort();
}

/** Every partition stream of the prefix, by topic (partition numbers of any PARTITIONS). */
export async function partitionStreams(redis: Redis, topology: Topology): Promise<Map<string, { key: string; partition: number }[]>> {
  const byTopic = new Map<string, { key: string; partition: number }[]>();
  for (const key of await scanKeys(redis, topology.prefix, 'stream')) {
    const parsed = parseKey(topology, key);
    if (!parsed) continue;
    const list = byTopic.get(parsed.topic) ?? [];
    list.push({ key, partition: parsed.partition });
    byTopic.set(parsed.topic, list);
  }
  for (const list of byTopic.values()) list.sort((a, b) => a.partition - b.partition);
  return byTopic;
}

