import type { Redis } from '../../messaging/redis';
import type { Topology } from '../../messaging/topology';
import { redriveDeadLetter } from '../../messaging/dead-letters';

/**
 * Re-drives every dead letter (of one consumer group, when given), oldest first per
 * partition, a page at a time (each through {@link redriveDeadLetter}, which re-reads it);
 * letters that hold no message stay. Returns how many went back.
 */
export async function redriveAllDeadLetters(redis: Redis, topology: Topology, group?: string): Promise<number> {
  let count = 0;
  for (let partition = 0; partition < topology.partitions; partition++) {
    let start = '-';
    for (;;) {
      const page = (await redis.xrange(topology.deadLetterKey(partition), start, '+', 'COUNT', 100)) as [string, string[]][];
      if (page.length === 0) break;
      for (const [entry, fields] of page) {
        const f: Record<string, string> = {};
        for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]] = fields[i + 1];
        if ((group && f.group !== group) || !f.m) continue;
        await redriveDeadLetter(redis, topology, `p${partition}-${entry}`);
        count++;
      }
      start = `(${page[page.length - 1][0]}`;
    }
  }
  return count;
}
