/** Looking at a deployment's streams from a test: which exist, and whether every group has caught up. */
import type { Redis } from '../../runtime/messaging/redis';
import { partitionStreams } from '../../runtime/messaging/stream-scan';

/** Every partition stream of the deployment (`<prefix>{p<n>-<k>}:<topic>`; not the dead letters, not lease keys), on every master. */
export async function streamKeys(redis: Redis, prefix: string): Promise<string[]> {
  return [...(await partitionStreams(redis, prefix)).values()].flat().map((s) => s.key).sort();
}

/** A flat Redis reply `[k1, v1, k2, v2, ...]` as an object. */
export function fields(flat: (string | number)[]): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1];
  return out;
}

/**
 * True when every group of these streams (or the one named) has been delivered every entry
 * and has acknowledged it: nothing is left to handle or retry.
 */
export async function caughtUp(redis: Redis, keys: string[], onlyGroup?: string): Promise<boolean> {
  for (const key of keys) {
    const last = (await redis.xrevrange(key, '+', '-', 'COUNT', 1)) as [string, string[]][];
    const groups = ((await redis.xinfo('GROUPS', key)) as (string | number)[][]).map(fields);
    for (const g of groups) {
      if (onlyGroup && g.name !== onlyGroup) continue;
      if (Number(g.pending) > 0) return false;
      if (last.length && g['last-delivered-id'] !== last[0][0]) return false;
    }
    if (onlyGroup && !groups.some((g) => g.name === onlyGroup)) return false;
  }
  return true;
}
