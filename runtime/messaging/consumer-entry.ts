import type { Envelope } from './envelope';
import { MESSAGE_FIELD, TYPE_FIELD, entryField } from './stream-entry';

/** A stream entry a consumer read, parsed once. */
export interface Entry {
  key: string;
  id: string;
  message?: Envelope;
  /** Set when the entry's type field says the group does not handle it: not parsed, only acknowledged. */
  skip?: true;
  /** Set when the entry cannot be parsed: it goes straight to the dead letters. */
  malformed?: string;
}

/** What XREADGROUP answers: per stream key, its entries with their fields (null for a trimmed pending entry). */
export type StreamReply = [key: string, entries: [id: string, fields: string[] | null][]][] | null;

/** The actor a message is about: its messages are handled one at a time, in stream order. */
export const actorKey = (m: Envelope) => `${m.actor.type}:${m.actor.id}`;

/**
 * Parses a read entry. With `accepts`, an entry whose type field the group does not handle is
 * only marked to skip (not parsed); an entry that is not an envelope is marked malformed.
 */
export function parseEntry(key: string, id: string, fields: string[] | null, accepts?: (type: string) => boolean): Entry {
  // A pending entry that was deleted from the stream (trimmed) comes back with no fields.
  if (!fields) return { key, id, malformed: 'entry was trimmed from the stream before it was handled' };
  const type = accepts && entryField(fields, TYPE_FIELD);
  if (type && !accepts(type)) return { key, id, skip: true };
  const json = entryField(fields, MESSAGE_FIELD);
  if (json === undefined) return { key, id, malformed: 'entry has no "m" field' };
  try {
    const message = JSON.parse(json) as Envelope;
    if (!message || typeof message.id !== 'string' || !message.actor || typeof message.type !== 'string') {
      return { key, id, malformed: 'entry is not a message envelope' };
    }
    return { key, id, message };
  } catch (err) {
    return { key, id, malformed: `entry is not JSON: ${(err as Error).message}` };
  }
}
