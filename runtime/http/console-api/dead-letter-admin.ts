import type { Redis } from '../../messaging/redis';
import type { Topology } from '../../messaging/topology';
import { redriveDeadLetter } from '../../messaging/dead-letters';

/** Removes one dead letter; false when there was none with that id. */
export async function deleteDeadLetter(redis: Redis, topology: Topology, id: string): Promise<boolean> {
  return (await redis.xdel(topology.deadLetterKey(), id)) > 0;
}

/**
 * Re-drives every dead letter (of one consumer group, when given), oldest first, a page at a
 * time (each through {@link redriveDeadLetter}, which re-reads it); letters that hold no
 * message stay. Returns how many went back.
 */
export async function redriveAllDeadLetters(redis: Redis, topology: Topology, group?: string): Promise<number> {
  let count = 0;
  let start = '-';
  for (;;) {
    const page = (await redis.xrange(topology.deadLetterKey(), start, '+', 'COUNT', 100)) as [string, string[]][];
    if (page.length === 0) return count;
    for (const [id, fields] of page) {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]] = fields[i + 1];
      if ((group && f.group !== group) || !f.m) continue;
      await redriveDeadLetter(redis, topology, id);
      count++;
    }
    start = `(${page[page.length - 1][0]}`;
  }
}
