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

/**
 * Puts a dead letter back on its original stream (as a new entry) and removes it from the
 * dead letters. Groups that handled it before skip it through their inbox; the group it
 * failed in handles it again.
 */
export async function redriveDeadLetter(redis: Redis, topology: Topology, id: string): Promise<DeadLetter> {
  if (!/^\d+-\d+$/.test(id)) throw new NotFoundError(`No dead letter with id ${id} (ids look like 1764132000000-0)`);
  const rows = (await redis.xrange(topology.deadLetterKey(), id, id)) as [string, string[]][];
  if (rows.length === 0) throw new NotFoundError(`No dead letter with id ${id}`);
  const letter = toDeadLetter(rows[0][0], rows[0][1]);
  if (!letter.message) throw new NotFoundError(`Dead letter ${id} holds no message to re-drive`);
  await redis.multi().xadd(letter.streamKey, '*', TYPE_FIELD, letter.message.type, MESSAGE_FIELD, JSON.stringify(letter.message)).xdel(topology.deadLetterKey(), id).exec();
  return letter;
}
