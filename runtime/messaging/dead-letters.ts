import type { Redis } from './redis';
import { keyedBatch } from './redis';
import type { Topology } from './topology';
import type { Envelope } from './envelope';
import { MESSAGE_FIELD, TYPE_FIELD, compareEntryIds } from './stream-entry';
import { NotFoundError } from '../errors';

/**
 * Dead letters live in one stream per partition, in the partition's hash slot: parking a
 * message (XADD there, XACK on its stream, its attempt counter deleted) is one MULTI, which a
 * Redis Cluster accepts only within one slot. A dead letter's id names its partition and its
 * entry: `p<partition>-<ms>-<seq>`.
 */

/** A parked message with why and where it failed. */
export interface DeadLetter {
  id: string;
  group: string;
  streamKey: string;
  entryId: string;
  error: string;
  attempts: number;
  failedAt: string;
  message?: Envelope;
}

/** The largest part of a stream id: Redis keeps both parts as unsigned 64-bit integers. */
const U64_MAX = 18446744073709551615n;

/** What the API shows of a dead letter id, for messages and schemas. */
export const DEAD_LETTER_ID_EXAMPLE = 'p1-1764132000000-0';
export const DEAD_LETTER_ID_PATTERN = /^p(\d{1,4})-(\d{1,20})-(\d{1,20})$/;

/**
 * The partition and dead-letter stream entry of a dead letter id, or undefined when `id` cannot
 * be one (a partition past PARTITIONS, or stream id parts past 2^64-1, which Redis would refuse
 * with an error that must not reach the client as a 500: such an id names no dead letter).
 */
export function parseDeadLetterId(topology: Topology, id: string): { partition: number; entry: string } | undefined {
  const m = DEAD_LETTER_ID_PATTERN.exec(id);
  if (!m || Number(m[1]) >= topology.partitions || BigInt(m[2]) > U64_MAX || BigInt(m[3]) > U64_MAX) return undefined;
  return { partition: Number(m[1]), entry: `${m[2]}-${m[3]}` };
}

const deadLetterId = (partition: number, entry: string) => `p${partition}-${entry}`;

/**
 * Parks a message in its partition's dead letters and acknowledges it in its group,
 * atomically, so it is neither lost nor handled again until someone re-drives it.
 */
export async function deadLetter(
  redis: Redis,
  topology: Topology,
  group: string,
  streamKey: string,
  entryId: string,
  error: string,
  attempts: number,
  message: Envelope | undefined,
): Promise<void> {
  const { partition } = topology.parseStreamKey(streamKey);
  await redis
    .multi()
    .xadd(
      topology.deadLetterKey(partition), '*',
      'group', group, 'stream', streamKey, 'entry', entryId, 'error', error,
      'attempts', String(attempts), 'failedAt', new Date().toISOString(),
      MESSAGE_FIELD, message ? JSON.stringify(message) : '',
    )
    .xack(streamKey, group, entryId)
    .hdel(topology.attemptsKey(group, partition), entryId)
    .exec();
}

function toDeadLetter(partition: number, entry: string, fields: string[]): DeadLetter {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]] = fields[i + 1];
  return {
    id: deadLetterId(partition, entry),
    group: f.group,
    streamKey: f.stream,
    entryId: f.entry,
    error: f.error,
    attempts: Number(f.attempts),
    failedAt: f.failedAt,
    message: f[MESSAGE_FIELD] ? (JSON.parse(f[MESSAGE_FIELD]) as Envelope) : undefined,
  };
}

/** How many dead letters there are, over every partition (one round trip). */
export async function countDeadLetters(redis: Redis, topology: Topology): Promise<number> {
  const batch = keyedBatch(redis);
  for (const key of topology.deadLetterKeys()) batch.xlen(key);
  const replies = (await batch.exec()) ?? [];
  let count = 0;
  for (const [err, n] of replies) {
    if (err) throw err;
    count += n as number;
  }
  return count;
}

/** A partition's dead letters, oldest first, read a page at a time (with their entry id, to sort by). */
async function* lettersOf(redis: Redis, topology: Topology, partition: number, pageSize: number): AsyncGenerator<{ entry: string; letter: DeadLetter }> {
  let start = '-';
  for (;;) {
    const page = (await redis.xrange(topology.deadLetterKey(partition), start, '+', 'COUNT', pageSize)) as [string, string[]][];
    for (const [entry, fields] of page) yield { entry, letter: toDeadLetter(partition, entry, fields) };
    if (page.length < pageSize) return;
    start = `(${page[page.length - 1][0]}`;
  }
}

const partitions = (topology: Topology) => Array.from({ length: topology.partitions }, (_, p) => p);

/**
 * Up to `limit` dead letters, oldest first (by when they were parked), over every partition;
 * of one group when given. Reads each partition's oldest in pages, then merges.
 */
export async function listDeadLetters(redis: Redis, topology: Topology, limit = 100, group?: string): Promise<DeadLetter[]> {
  const found: { partition: number; entry: string; letter: DeadLetter }[] = [];
  await Promise.all(
    partitions(topology).map(async (partition) => {
      let taken = 0;
      for await (const { entry, letter } of lettersOf(redis, topology, partition, Math.max(limit, 100))) {
        if (group && letter.group !== group) continue;
        found.push({ partition, entry, letter });
        if (++taken >= limit) return;
      }
    }),
  );
  // Entry ids are times: ordering by them orders by parking time across partitions (letters
  // parked in the same millisecond on two partitions: by partition).
  found.sort((a, b) => compareEntryIds(a.entry, b.entry) || a.partition - b.partition);
  return found.slice(0, limit).map((f) => f.letter);
}

/**
 * Re-drives every dead letter (of one consumer group, when given), oldest first per
 * partition, a page at a time, each through {@link redriveDeadLetter} (which re-reads it);
 * letters that hold no message stay. Returns how many went back.
 */
export async function redriveAllDeadLetters(redis: Redis, topology: Topology, group?: string): Promise<number> {
  let count = 0;
  for (const partition of partitions(topology)) {
    for await (const { letter } of lettersOf(redis, topology, partition, 100)) {
      if ((group && letter.group !== group) || !letter.message) continue;
      await redriveDeadLetter(redis, topology, letter.id);
      count++;
    }
  }
  return count;
}

/** Removes one dead letter; false when there was none with that id. */
export async function deleteDeadLetter(redis: Redis, topology: Topology, id: string): Promise<boolean> {
  const parsed = parseDeadLetterId(topology, id);
  return !!parsed && (await redis.xdel(topology.deadLetterKey(parsed.partition), parsed.entry)) > 0;
}

/**
 * Re-publishes a dead letter and removes it, in one step: only the caller whose XDEL removed
 * the entry adds it to its stream, so however many re-drives of one letter race, it is
 * published once. KEYS: dead letters, target stream (the same slot); ARGV: id, type, message.
 * Returns the new entry's id, or false when the letter was gone.
 */
const REDRIVE = `
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then return false end
return redis.call('XADD', KEYS[2], '*', '${TYPE_FIELD}', ARGV[2], '${MESSAGE_FIELD}', ARGV[3])`;

type WithRedrive = Redis & { tributaryRedrive(deadLetters: string, stream: string, id: string, type: string, message: string): Promise<string | null> };

function withRedrive(redis: Redis): WithRedrive {
  if (!('tributaryRedrive' in redis)) redis.defineCommand('tributaryRedrive', { numberOfKeys: 2, lua: REDRIVE });
  return redis as WithRedrive;
}

/**
 * Puts a dead letter back on its stream (as a new entry; the returned `streamKey` is that
 * stream: its actor's partition, which is the dead letters' own, as a repartition moves dead
 * letters with their actors) and removes it from the dead letters, atomically and once (see
 * {@link REDRIVE}): a second re-drive of the same letter, concurrent or later, is a 404.
 * Groups that handled it before skip it through their inbox; the group it failed in handles
 * it again.
 */
export async function redriveDeadLetter(redis: Redis, topology: Topology, id: string): Promise<DeadLetter> {
  const parsed = parseDeadLetterId(topology, id);
  if (!parsed) throw new NotFoundError(`No dead letter with id ${id} (ids look like ${DEAD_LETTER_ID_EXAMPLE})`);
  const key = topology.deadLetterKey(parsed.partition);
  const rows = (await redis.xrange(key, parsed.entry, parsed.entry)) as [string, string[]][];
  if (rows.length === 0) throw new NotFoundError(`No dead letter with id ${id}`);
  const letter = toDeadLetter(parsed.partition, rows[0][0], rows[0][1]);
  if (!letter.message) throw new NotFoundError(`Dead letter ${id} holds no message to re-drive`);
  const target = topology.streamKey(topology.parseStreamKey(letter.streamKey).topic, parsed.partition);
  // The entry's fields never change once written, so what was read is what the script publishes.
  const added = await withRedrive(redis).tributaryRedrive(key, target, parsed.entry, letter.message.type, JSON.stringify(letter.message));
  if (!added) throw new NotFoundError(`Dead letter ${id} was re-driven already`);
  return { ...letter, streamKey: target };
}
