// The package (ioredis's own dependency for slots) ships no types: its export is this function.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const calculateSlot = require('cluster-key-slot') as (key: string) => number;

/** Redis Cluster's hash slots: CRC16 of a key's hash tag, mod 16384. */
export const SLOTS = 16_384;

/**
 * The hash tag of partition `n` of `partitions`: `p<n>-<k>`, with the smallest k whose slot
 * falls in the n-th of `partitions` equal slot ranges.
 *
 * Why not just `p<n>`: a cluster assigns contiguous slot ranges to its masters (three
 * masters: 0–5460, 5461–10922, 10923–16383), and the slots of `p0`, `p1`, ... fall where
 * CRC16 puts them; with 6 partitions on 3 masters, `{p0}`..`{p5}` land 4, 1 and 1 to a
 * master. Tags chosen by range put partition n at the n-th P-th of the slots, so P
 * partitions spread over M masters as evenly as P and M allow (exactly when M divides P).
 * A tag depends on P; `tributary repartition` renames the keys when P changes.
 */
export function slotTag(n: number, partitions: number): string {
  if (!Number.isInteger(n) || n < 0 || n >= partitions) throw new RangeError(`partition ${n} is not one of 0..${partitions - 1}`);
  const from = Math.floor((n * SLOTS) / partitions);
  const to = Math.floor(((n + 1) * SLOTS) / partitions);
  // About `partitions` tries on average: the slot of each try is uniform over 16384.
  for (let k = 0; ; k++) {
    const tag = `p${n}-${k}`;
    const slot = calculateSlot(tag);
    if (slot >= from && slot < to) return tag;
  }
}

/** The hash slot of a key (of its `{tag}` when it has one). */
export const slotOf = (key: string): number => calculateSlot(key);
