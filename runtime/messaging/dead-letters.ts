import type { Redis } from './redis';
import type { Topology } from './topology';
import type { Envelope } from './envelope';
import { MESSAGE_FIELD, TYPE_FIELD } from './stream-entry';
import { NotFoundError } from '../errors';

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

/**
 * Parks a message in the dead-letter stream and acknowledges it in its group, atomically,
 * so it is neither lost nor handled again until someone re-drives it.
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
  await redis
    .multi()
    .xadd(
      topology.deadLetterKey(), '*',
      'group', group, 'stream', streamKey, 'entry', entryId, 'error', error,
      'attempts', String(attempts), 'failedAt', new Date().toISOString(),
      'm', message ? JSON.stringify(message) : '',
    )
    .xack(streamKey, group, entryId)
    .hdel(topology.attemptsKey(group), entryId)
    .exec();
}

function toDeadLetter(id: string, fields: string[]): DeadLetter {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]] = fields[i + 1];
  return {
    id,
    group: f.group,
    streamKey: f.stream,
    entryId: f.entry,
    error: f.error,
    attempts: Number(f.attempts),
    failedAt: f.failedAt,
    message: f.m ? (JSON.parse(f.m) as Envelope) : undefined,
  };
}

export async function listDeadLetters(redis: Redis, topology: Topology, limit = 100): Promise<DeadLetter[]> {
  const rows = (await redis.xrange(topology.deadLetterKey(), '-', '+', 'COUNT', limit)) as [string, string[]][];
  return rows.map(([id, fields]) => toDeadLetter(id, fields));
}

/** The largest part of a stream id: Redis keeps both parts as unsigned 64-bit integers. */
const U64_MAX = 18446744073709551615n;

/**
 * Whether `id` can be a stream id (`<ms>-<seq>`, both parts at most 2^64-1). Redis refuses
 * anything else with an error, which must not reach the client as a 500: such an id names no
 * dead letter.
 */
export function isStreamId(id: string): boolean {
  const m = /^(\d{1,20})-(\d{1,20})$/.exec(id);
  return m !== null && BigInt(m[1]) <= U64_MAX && BigInt(m[2]) <= U64_MAX;
}

/**
 * Re-publishes a dead letter and removes it, in one step: only the caller whose XDEL removed
 * the entry adds it to its stream, so however many re-drives of one letter race, it is
 * published once. KEYS: dead letters, target stream; ARGV: id, type, message. Returns the new
 * entry's id, or false when the letter was gone.
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
 * Puts a dead letter back on its stream (as a new entry; the returned `streamKey` is that stream:
 * its actor's partition under the current PARTITIONS) and removes it from the
 * dead letters, atomically and once (see {@link REDRIVE}): a second re-drive of the same
 * letter, concurrent or later, is a 404. Groups that handled it before skip it through their
 * inbox; the group it failed in handles it again.
 */
export async function redriveDeadLetter(redis: Redis, topology: Topology, id: string): Promise<DeadLetter> {
  if (!isStreamId(id)) throw new NotFoundError(`No dead letter with id ${id} (ids look like 1764132000000-0)`);
  const rows = (await redis.xrange(topology.deadLetterKey(), id, id)) as [string, string[]][];
  if (rows.length === 0) throw new NotFoundError(`No dead letter with id ${id}`);
  const letter = toDeadLetter(rows[0][0], rows[0][1]);
  if (!letter.message) throw new NotFoundError(`Dead letter ${id} holds no message to re-drive`);
  // The stream of its actor's partition under the current PARTITIONS: the key it came from
  // names a partition of the layout it was parked under, which a repartition may have changed.
  const target = topology.streamKey(topology.parseStreamKey(letter.streamKey).topic, topology.partitionOf(letter.message.actor.id));
  // The entry's fields never change once written, so what was read is what the script publishes.
  const added = await withRedrive(redis).tributaryRedrive(topology.deadLetterKey(), target, id, letter.message.type, JSON.stringify(letter.message));
  if (!added) throw new NotFoundError(`Dead letter ${id} was re-driven already`);
  return { ...letter, streamKey: target };
}
