import type { Queryable } from './database';
import type { EventMetadata, EventRow } from './event-store';

/** A committed event as the console reads it (the log's columns, metadata kept whole). */
export interface LogEvent {
  position: number;
  eventId: string;
  streamType: string;
  version: number;
  type: string;
  data: unknown;
  metadata: EventMetadata;
  createdAt: Date;
}

/** The columns the console reads (`COLUMNS`): every one but the stream id. */
type LogRow = Omit<EventRow, 'stream_id'>;

const COLUMNS = 'position, event_id, stream_type, version, type, data, metadata, created_at';

const toEvent = (r: LogRow): LogEvent => ({
  position: Number(r.position),
  eventId: r.event_id,
  streamType: r.stream_type,
  version: r.version,
  type: r.type,
  data: r.data,
  metadata: r.metadata,
  createdAt: r.created_at,
});

/** Which events a reader wants: one aggregate type, one aggregate, one correlation (all optional). */
export interface EventFilter {
  type?: string;
  /** Aggregate id; only with `type` (the stream id is `<type>-<id>`). */
  id?: string;
  correlationId?: string;
}

/**
 * Committed events after `after`, in position order, with the database clock read after the
 * statement's snapshot (`seenAt`, exact to the microsecond as text): every row not seen by
 * this statement belongs to a transaction that began before that instant or after it.
 */
export async function eventsAfter(db: Queryable, after: number, limit: number): Promise<{ events: LogEvent[]; seenAt: string }> {
  const { rows } = await db.raw<{ rows: (LogRow & { seen_at: string })[] }>(
    `SELECT ${COLUMNS}, clock_timestamp()::text AS seen_at FROM events WHERE position > ? ORDER BY position LIMIT ?`,
    [after, limit],
  );
  if (rows.length) return { events: rows.map(toEvent), seenAt: rows[0].seen_at };
  const now = await db.raw<{ rows: { seen_at: string }[] }>('SELECT clock_timestamp()::text AS seen_at');
  return { events: [], seenAt: now.rows[0].seen_at };
}

/**
 * Whether a position missing below committed ones can no longer appear: true once no client
 * transaction of this database that began at or before `seenAt` is still open. A transaction
 * that allocated a missing position did so before a later position committed, so before the
 * reader saw that later one: if no such transaction remains, the position was rolled back.
 * Sessions whose start the reader may not see (another role without pg_read_all_stats) count
 * as open: the caller then falls back to its time limit.
 */
export async function gapIsSettled(db: Queryable, seenAt: string): Promise<boolean> {
  const { rows } = await db.raw<{ rows: { open: boolean }[] }>(
    `SELECT EXISTS (
       SELECT 1 FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()
          AND (backend_type = 'client backend' OR backend_type IS NULL)
          AND (xact_start <= ?::timestamptz OR (xact_start IS NULL AND state IS NULL))
     ) AS open`,
    [seenAt],
  );
  return !rows[0].open;
}

/** The highest position committed so far (0 for an empty log). */
export async function maxPosition(db: Queryable): Promise<number> {
  const { rows } = await db.raw<{ rows: { max: string | null }[] }>('SELECT max(position) AS max FROM events');
  return Number(rows[0].max ?? 0);
}

/** The positions after `after` (at most `limit`) and the clock after the snapshot, as {@link eventsAfter}: for finding the settled head of the log. */
export async function positionsAfter(db: Queryable, after: number, limit: number): Promise<{ positions: number[]; seenAt: string }> {
  const { rows } = await db.raw<{ rows: { position: string | null; seen_at: string }[] }>(
    `SELECT p.position, clock_timestamp()::text AS seen_at
       FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT position FROM events WHERE position > ? ORDER BY position LIMIT ?) p ON true`,
    [after, limit],
  );
  return { positions: rows.filter((r) => r.position !== null).map((r) => Number(r.position)), seenAt: rows[0].seen_at };
}

/**
 * Committed events in `(after, upTo]` matching the filter, in position order: a stream
 * client's catch-up before it joins the live feed. The filters use the indexes on
 * `(stream_type, position)`, `(stream_id, version)` and the correlation id.
 */
export async function filteredEvents(db: Queryable, after: number, upTo: number, filter: EventFilter, limit: number): Promise<LogEvent[]> {
  const where = ['position > ?', 'position <= ?'];
  const params: (string | number)[] = [after, upTo];
  if (filter.type) {
    where.push('stream_type = ?');
    params.push(filter.type);
  }
  if (filter.type && filter.id) {
    where.push('stream_id = ?');
    params.push(`${filter.type}-${filter.id}`);
  }
  if (filter.correlationId) {
    where.push("(metadata->>'correlationId') = ?");
    params.push(filter.correlationId);
  }
  const { rows } = await db.raw<{ rows: LogRow[] }>(`SELECT ${COLUMNS} FROM events WHERE ${where.join(' AND ')} ORDER BY position LIMIT ?`, [...params, limit]);
  return rows.map(toEvent);
}

/** Every event of one correlation (a business transaction: an order's saga), in position order. */
export async function correlationEvents(db: Queryable, correlationId: string, limit = 5000): Promise<LogEvent[]> {
  const { rows } = await db.raw<{ rows: LogRow[] }>(
    `SELECT ${COLUMNS} FROM events WHERE (metadata->>'correlationId') = ? ORDER BY position LIMIT ?`,
    [correlationId, limit],
  );
  return rows.map(toEvent);
}

/** A pending durable deadline of a correlation. */
export interface PendingTimer {
  actorType: string;
  actorId: string;
  name: string;
  dueAt: Date;
  overdue: boolean;
  data: Record<string, unknown>;
}

export async function correlationTimers(db: Queryable, correlationId: string): Promise<PendingTimer[]> {
  const { rows } = await db.raw<{ rows: { actor_type: string; actor_id: string; name: string; due_at: Date; overdue: boolean; data: Record<string, unknown> }[] }>(
    'SELECT actor_type, actor_id, name, due_at, due_at <= now() AS overdue, data FROM timers WHERE correlation_id = ? ORDER BY due_at',
    [correlationId],
  );
  return rows.map((r) => ({ actorType: r.actor_type, actorId: r.actor_id, name: r.name, dueAt: r.due_at, overdue: r.overdue, data: r.data }));
}
