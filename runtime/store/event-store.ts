import { ConcurrencyError } from '../errors';
import type { Envelope } from '../messaging/envelope';
import type { Queryable } from './database';

/** Metadata stored beside every event: ids that tie it to its business transaction and trace. */
export interface EventMetadata {
  actorId: string;
  correlationId: string;
  causationId: string;
  traceparent?: string;
  tracestate?: string;
}

export interface NewEvent {
  eventId: string;
  type: string;
  data: unknown;
}

export interface StoredEvent {
  position: number;
  eventId: string;
  streamId: string;
  streamType: string;
  version: number;
  type: string;
  data: unknown;
  metadata: EventMetadata;
  createdAt: Date;
}

/** A message bound for a Redis stream partition, committed with the events that caused it. */
export interface OutboxMessage {
  topic: string;
  partition: number;
  message: Envelope;
}

export interface AppendRequest {
  streamId: string;
  streamType: string;
  /** Version the stream must be at before the append (0 = must not exist). */
  expectedVersion: number;
  events: NewEvent[];
  metadata: EventMetadata;
  outbox: OutboxMessage[];
}

export const OUTBOX_CHANNEL = 'tributary_outbox';

/*
 * One round trip appends the events and writes their outbox rows (relays are told after the
 * commit: see OutboxSignal). The unique (stream_id, version) constraint is the
 * optimistic concurrency check: a stale writer fails here, whatever it believed. Commands
 * do not call this: their writes go through the transaction's WriteBuffer, which writes the
 * events of every stream of a transaction in one statement like this one.
 */
const APPEND_SQL = `
WITH ev AS (
  INSERT INTO events (event_id, stream_id, stream_type, version, type, data, metadata)
  SELECT x.event_id, ?, ?, x.version, x.type, x.data, ?::jsonb
    FROM jsonb_to_recordset(?::jsonb) AS x(event_id uuid, version int, type text, data jsonb)
  RETURNING position
), ob AS (
  INSERT INTO outbox (topic, partition, message)
  SELECT x.topic, x.partition, x.message
    FROM jsonb_to_recordset(?::jsonb) AS x(topic text, partition int, message jsonb)
)
SELECT count(*) AS appended FROM ev`;

function isUniqueViolation(err: unknown, constraint: string): boolean {
  const e = err as { code?: string; constraint?: string };
  return e.code === '23505' && e.constraint === constraint;
}

/** Appends one stream's events with their outbox rows, in one statement. */
export async function appendToStream(db: Queryable, req: AppendRequest): Promise<void> {
  if (req.events.length === 0 && req.outbox.length === 0) return;
  const events = req.events.map((e, i) => ({
    event_id: e.eventId,
    version: req.expectedVersion + i + 1,
    type: e.type,
    data: e.data,
  }));
  try {
    await db.raw(APPEND_SQL, [req.streamId, req.streamType, JSON.stringify(req.metadata), JSON.stringify(events), JSON.stringify(req.outbox)]);
  } catch (err) {
    if (isUniqueViolation(err, 'events_stream_version')) throw new ConcurrencyError(req.streamId, req.expectedVersion);
    throw err;
  }
}

/** Writes outbox rows that are not events (commands to other actors, replies). */
export async function enqueueMessages(db: Queryable, messages: OutboxMessage[]): Promise<void> {
  if (messages.length === 0) return;
  await db.raw(
    `INSERT INTO outbox (topic, partition, message)
     SELECT x.topic, x.partition, x.message FROM jsonb_to_recordset(?::jsonb) AS x(topic text, partition int, message jsonb)`,
    [JSON.stringify(messages)],
  );
}

/** A row of `events` as node-postgres returns it. */
export interface EventRow {
  position: string;
  event_id: string;
  stream_id: string;
  stream_type: string;
  version: number;
  type: string;
  data: unknown;
  metadata: EventMetadata;
  created_at: Date;
}

function toStored(r: EventRow): StoredEvent {
  return {
    position: Number(r.position),
    eventId: r.event_id,
    streamId: r.stream_id,
    streamType: r.stream_type,
    version: r.version,
    type: r.type,
    data: r.data,
    metadata: r.metadata,
    createdAt: r.created_at,
  };
}

const EVENT_COLUMNS = 'position, event_id, stream_id, stream_type, version, type, data, metadata, created_at';

/** The events of one stream after `afterVersion`, in version order. */
export async function readStream(db: Queryable, streamId: string, afterVersion = 0): Promise<StoredEvent[]> {
  const { rows } = await db.raw<{ rows: EventRow[] }>(
    `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = ? AND version > ? ORDER BY version`,
    [streamId, afterVersion],
  );
  return rows.map(toStored);
}

/** One event of a stream, or undefined when the stream has no event with that id. */
export async function readEvent(db: Queryable, streamId: string, eventId: string): Promise<StoredEvent | undefined> {
  const { rows } = await db.raw<{ rows: EventRow[] }>(
    `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = ? AND event_id = ?`,
    [streamId, eventId],
  );
  return rows[0] && toStored(rows[0]);
}

/** Every event after a global position, in position order (projections, replay, analytics). */
export async function readAll(db: Queryable, afterPosition = 0, limit = 1000, streamType?: string): Promise<StoredEvent[]> {
  const { rows } = await db.raw<{ rows: EventRow[] }>(
    `SELECT ${EVENT_COLUMNS} FROM events WHERE position > ? ${streamType ? 'AND stream_type = ?' : ''} ORDER BY position LIMIT ?`,
    streamType ? [afterPosition, streamType, limit] : [afterPosition, limit],
  );
  return rows.map(toStored);
}

export interface Snapshot<S> {
  version: number;
  state: S;
}

/**
 * The latest snapshot (if any) and the events after it, in one round trip.
 * Loading an actor therefore costs O(events since the snapshot), not O(history).
 */
export async function loadStream<S>(db: Queryable, streamId: string): Promise<{ snapshot?: Snapshot<S>; events: StoredEvent[] }> {
  const { rows } = await db.raw<{ rows: (EventRow & { snap_state: S | null; snap_version: number | null })[] }>(
    `WITH s AS (SELECT version, state FROM snapshots WHERE stream_id = ?)
     SELECT NULL AS position, NULL AS event_id, NULL AS stream_id, NULL AS stream_type, NULL AS version, NULL AS type,
            NULL::jsonb AS data, NULL::jsonb AS metadata, NULL::timestamptz AS created_at, s.state AS snap_state, s.version AS snap_version
       FROM s
     UNION ALL
     SELECT * FROM (
       SELECT ${EVENT_COLUMNS}, NULL::jsonb, NULL::int
         FROM events
        WHERE stream_id = ? AND version > COALESCE((SELECT version FROM s), 0)
        ORDER BY version) e`,
    [streamId, streamId],
  );
  let snapshot: Snapshot<S> | undefined;
  const events: StoredEvent[] = [];
  for (const r of rows) {
    if (r.snap_version !== null) snapshot = { version: r.snap_version, state: r.snap_state as S };
    else events.push(toStored(r));
  }
  return { snapshot, events };
}

export async function saveSnapshot<S>(db: Queryable, streamId: string, version: number, state: S): Promise<void> {
  await db.raw(
    `INSERT INTO snapshots (stream_id, version, state) VALUES (?, ?, ?::jsonb)
     ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, state = EXCLUDED.state, updated_at = now()
     WHERE snapshots.version < EXCLUDED.version`,
    [streamId, version, JSON.stringify(state)],
  );
}
