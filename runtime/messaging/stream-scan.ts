import { prefixPattern, scanAll, type Redis } from './redis';
import { parsePartitionKey } from './topology';

/**
 * Finding a deployment's partition streams by scanning its prefix, whatever PARTITIONS wrote
 * them: the repartition reads them all, and the partitions report flags those no partition reads.
 */

/** Suffix of the temporary streams a repartition writes (same hash tag as the final key). */
export const MOVING = ':moving';

/** A partition key's partition and what follows its tag, or undefined when it is none of this prefix. */
function partitionKey(prefix: string, key: string): { partition: number; rest: string } | undefined {
  return key.startsWith(prefix) ? parsePartitionKey(key.slice(prefix.length)) : undefined;
}

/** A stream key's topic and partition, or undefined when it is not a partition stream of this prefix. */
export function parseKey(prefix: string, key: string): { topic: string; partition: number } | undefined {
  if (key.endsWith(MOVING)) return undefined;
  const parsed = partitionKey(prefix, key);
  return parsed?.rest.startsWith(':') ? { topic: parsed.rest.slice(1), partition: parsed.partition } : undefined;
}

/** A partition's dead-letter stream key's partition (of any PARTITIONS), or undefined. */
export function parseDeadLetterKey(prefix: string, key: string): number | undefined {
  const parsed = partitionKey(prefix, key);
  return parsed?.rest === 'dead-letters' ? parsed.partition : undefined;
}

/** Whether a key is a group's attempt counters of some partition (of any PARTITIONS). */
export function isAttemptsKey(prefix: string, key: string): boolean {
  return !!partitionKey(prefix, key)?.rest.startsWith('attempts:');
}

/** Every key of the prefix matching `{*` (partition streams, their temporary copies, dead letters, leases, ...), sorted, on every master. */
export async function scanKeys(redis: Redis, prefix: string, type?: string): Promise<string[]> {
  return (await scanAll(redis, prefixPattern(`${prefix}{`), type)).sort();
}

/** Every partition stream of the prefix, by topic (partition numbers of any PARTITIONS). */
export async function partitionStreams(redis: Redis, prefix: string): Promise<Map<string, { key: string; partition: number }[]>> {
  const byTopic = new Map<string, { key: string; partition: number }[]>();
  for (const key of await scanKeys(redis, prefix, 'stream')) {
    const parsed = parseKey(prefix, key);
    if (!parsed) continue;
    const list = byTopic.get(parsed.topic) ?? [];
    list.push({ key, partition: parsed.partition });
    byTopic.set(parsed.topic, list);
  }
  for (const list of byTopic.values()) list.sort((a, b) => a.partition - b.partition);
  return byTopic;
}

