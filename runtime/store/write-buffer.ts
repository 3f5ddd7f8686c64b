import { ConcurrencyError, ConflictError } from '../errors';
import type { ActorRef } from '../messaging/envelope';
import type { Queryable } from './database';
import type { EventMetadata, OutboxMessage } from './event-store';
import { timerRow, type TimerRequest } from './timers';

/**
 * A read-model row written with the events that changed it: an upsert keyed by `key`.
 * Declared rather than written as SQL so that the rows of many changes to one table go in
 * one multi-row statement (see {@link WriteBuffer}).
 */
export interface RowUpsert {
  table: string;
  /** The primary key's columns: the ON CONFLICT target. */
  key: readonly string[];
  /** Every column written when the row is new, as JSON values (a jsonb column takes the object itself). */
  values: Record<string, unknown>;
  /**
   * The columns overwritten when the row exists (the others keep their first value), or
   * `'fail'`: the row must be new, and an existing one fails the statement with the key's
   * unique violation (a guard, like a unit that may be allocated once).
   */
  update: readonly string[] | 'fail';
  /** A timestamp column set to now() when the row is updated. */
  touch?: string;
}

/** Events appended to one stream at `expectedVersion`, their outbox rows, and the read-model row they change. */
export interface BufferedAppend {
  streamId: string;
  streamType: string;
  expectedVersion: number;
  events: readonly { eventId: string; type: string; data: unknown }[];
  metadata: EventMetadata;
  outbox: readonly OutboxMessage[];
  rows?: readonly RowUpsert[];
}

/**
 * A consumer's fencing token, checked (under FOR SHARE) by the statement that writes the
 * batch: a stale partition owner writes nothing and gets `lost()`.
 */
export interface Fence {
  consumer: string;
  partition: number;
  token: number;
  lost: () => Error;
}

/** The inbox rows of the messages a transaction handles: a message handled before makes the write fail. */
export interface Deliveries {
  consumer: string;
  messageIds: readonly string[];
}

/** The inbox already holds one of the messages: the batch must be redone with duplicates skipped. */
export class DuplicateDeliveryError extends Error {
  override readonly name = 'DuplicateDeliveryError';
}

/** Messages for unique constraints, shared by every buffer: a violation becomes a 409 {@link ConflictError}. */
const conflictMessages = new Map<string, string>();

/** Maps unique-constraint names to the 409 message a violation gets (aggregate definitions' `uniqueViolations`). */
export function registerConflictMessages(messages: Readonly<Record<string, string>> = {}): void {
  for (const [constraint, message] of Object.entries(messages)) conflictMessages.set(constraint, message);
}

/** Errors thrown by a flush that ran before another statement: not that statement's fault. */
const deferredFailures = new WeakSet<object>();

/** Whether `err` came from writes buffered earlier in the transaction, flushed before a later statement. */
export function isDeferredWriteError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && deferredFailures.has(err);
}

const IDENT = /^[a-z_][a-z0-9_]*$/;
const timerKey = (actor: ActorRef, name: string) => `${actor.type}\u0000${actor.id}\u0000${name}`;

interface Mark {
  local: Map<string, unknown>;
  reads: Map<string, number>;
}

/**
 * The writes of one transaction, sent as ONE statement: the events of every stream it
 * appends to, their outbox rows and read-model rows, the messages it sends, its timers, the
 * consumer's inbox rows and fence, and the check that the cached states it decided on are
 * still current. A consumer batch that handles 30 messages thus costs one round trip to
 * write, not 30 or more (what merging statements gains: ops/bench/README.md, "Figures behind
 * the code").
 *
 * The buffer is flushed before any other statement of its transaction runs (so the
 * transaction reads its own writes) and before it commits. Effects are the same as writing
 * at once; only where an error surfaces changes: a unique violation shows at the flush.
 */
export class WriteBuffer {
  private appends: BufferedAppend[] = [];
  private messages: OutboxMessage[] = [];
  /** Last request per timer wins: a schedule, or null for a cancel. */
  private timers = new Map<string, { actor: ActorRef; name: string; request: TimerRequest | null }>();
  private deliveries?: Deliveries;
  private fence?: Fence;
  /** Streams whose cached state was decided on without reading the log, at the version seen. */
  private readonly reads = new Map<string, number>();
  /** States this transaction wrote, by stream: later loads in it see them. */
  private local = new Map<string, unknown>();
  /** Every stream read or written (the actor cache forgets them if the transaction rolls back). */
  readonly touched = new Set<string>();
  /**
   * Loads may use cached states without reading the log (consumers set this): each such
   * read is checked by the flush, and a stale one fails the transaction with a
   * {@link ConcurrencyError}, as a stale append does.
   */
  optimistic = false;
  /**
   * The transaction's timestamp (`now()`) as its last flush returned it: the value Postgres
   * gave the `DEFAULT now()` columns of the rows it wrote, so a caller can show a new row
   * without reading it back.
   */
  flushedAt?: Date;

  /** Whether anything waits to be written (reads alone are checked at commit). */
  get pending(): boolean {
    return this.appends.length > 0 || this.messages.length > 0 || this.timers.size > 0 || this.deliveries !== undefined || this.fence !== undefined;
  }

  append(a: BufferedAppend, after: unknown): void {
    this.appends.push(a);
    // Our own append checks the stream (unique version): no separate read check.
    this.reads.delete(a.streamId);
    this.local.set(a.streamId, after);
    this.touched.add(a.streamId);
  }

  send(messages: readonly OutboxMessage[]): void {
    for (const m of messages) this.messages.push(m);
  }

  schedule(request: TimerRequest): void {
    this.timers.set(timerKey(request.actor, request.name), { actor: request.actor, name: request.name, request });
  }

  cancel(actor: ActorRef, name: string): void {
    this.timers.set(timerKey(actor, name), { actor, name, request: null });
  }

  /** Records the messages handled; see {@link Deliveries}. */
  deliver(deliveries: Deliveries, fence?: Fence): void {
    this.deliveries = deliveries;
    this.fence = fence;
  }

  /** Records that a decision used the cached state of `streamId` at `version`. */
  readAt(streamId: string, version: number): void {
    if (!this.local.has(streamId)) this.reads.set(streamId, version);
    this.touched.add(streamId);
  }

  /** The state this transaction wrote for a stream, if it wrote one. */
  localState<S>(streamId: string): S | undefined {
    return this.local.get(streamId) as S | undefined;
  }

  /** For savepoints: what {@link rollbackTo} restores. Only taken with nothing pending. */
  mark(): Mark {
    return { local: new Map(this.local), reads: new Map(this.reads) };
  }

  /**
   * Drops what was buffered since `mark` (its savepoint rolled back), and puts back the
   * read checks its appends had taken over. Reads made inside the savepoint stay checked:
   * the code around it may go on using what it read.
   */
  rollbackTo(mark: Mark): void {
    this.appends = [];
    this.messages = [];
    this.timers = new Map();
    this.deliveries = undefined;
    this.fence = undefined;
    this.local = mark.local;
    for (const [streamId, version] of mark.reads) if (!this.reads.has(streamId)) this.reads.set(streamId, version);
  }

  /**
   * Writes what is pending in one statement. `final`: the transaction commits next, so the
   * cached reads are checked too. `beforeOther`: another statement waits for this flush;
   * its errors are marked ({@link isDeferredWriteError}).
   */
  async flush(q: Queryable, final: boolean, beforeOther = false): Promise<void> {
    const checkReads = final && this.reads.size > 0;
    if (!this.pending && !checkReads) return;
    const statement = this.take(checkReads);
    try {
      const { rows } = await q.raw<{ rows: { ok: boolean; token: number | null; stale: string[] | null; at: Date }[] }>(statement.sql, statement.bindings);
      const r = rows[0];
      this.flushedAt = r.at;
      if (r.ok) return;
      if (statement.fence && r.token !== statement.fence.token) throw statement.fence.lost();
      const stale = r.stale?.[0] ?? '?';
      throw new ConcurrencyError(stale, statement.readVersions.get(stale) ?? 0);
    } catch (err) {
      const mapped = mapWriteError(err);
      if (beforeOther && typeof mapped === 'object' && mapped !== null) deferredFailures.add(mapped);
      throw mapped;
    }
  }

  /** Builds the statement from what is pending and empties the buffer (reads stay until the final flush). */
  private take(checkReads: boolean) {
    const fence = this.fence;
    const readVersions = checkReads ? new Map(this.reads) : new Map<string, number>();
    const events: unknown[] = [];
    const outbox: OutboxMessage[] = [];
    const rows = new Map<string, RowUpsert>();
    for (const a of this.appends) {
      a.events.forEach((e, i) => events.push({ event_id: e.eventId, stream_id: a.streamId, stream_type: a.streamType, version: a.expectedVersion + i + 1, type: e.type, data: e.data, metadata: a.metadata }));
      for (const m of a.outbox) outbox.push(m);
      // A later change of the same row carries the whole row: the last one wins. A row that
      // must be new is never merged: two of one key must fail.
      for (const row of a.rows ?? []) rows.set(row.update === 'fail' ? `${rows.size}\u0000new` : `${row.table}\u0000${row.key.map((k) => String(row.values[k])).join('\u0000')}`, row);
    }
    for (const m of this.messages) outbox.push(m);
    // Cancelled timers' keys as three arrays, column by column.
    const cancels: [string[], string[], string[]] = [[], [], []];
    const schedules: unknown[] = [];
    for (const t of this.timers.values()) {
      if (t.request) schedules.push(timerRow(t.request));
      else {
        cancels[0].push(t.actor.type);
        cancels[1].push(t.actor.id);
        cancels[2].push(t.name);
      }
    }
    // Rows of one shape (table, columns, key, update, touch) go in one multi-row insert.
    const groups = new Map<string, { row: RowUpsert; columns: string[]; values: unknown[] }>();
    for (const row of rows.values()) {
      const columns = Object.keys(row.values);
      const key = `${row.table}(${columns.join(',')})${row.key.join(',')}/${String(row.update)}/${row.touch ?? ''}`;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { row, columns, values: [] }));
      group.values.push(row.values);
    }
    const shape: Shape = {
      fence: fence !== undefined,
      reads: checkReads,
      inbox: this.deliveries !== undefined,
      events: events.length > 0,
      outbox: outbox.length > 0,
      cancels: cancels[0].length > 0,
      schedules: schedules.length > 0,
      rows: [...groups].map(([key, g]) => ({ key, row: g.row, columns: g.columns })),
    };
    // Bindings in the order of the statement's placeholders (see statementFor).
    const bindings: unknown[] = [];
    if (fence) bindings.push(fence.consumer, fence.partition);
    if (checkReads) bindings.push(JSON.stringify([...this.reads].map(([stream_id, version]) => ({ stream_id, version }))));
    if (fence) bindings.push(fence.token);
    if (this.deliveries) bindings.push(this.deliveries.consumer, this.deliveries.messageIds);
    if (events.length) bindings.push(JSON.stringify(events));
    if (outbox.length) bindings.push(JSON.stringify(outbox));
    if (cancels[0].length) bindings.push(...cancels);
    if (schedules.length) bindings.push(JSON.stringify(schedules));
    for (const g of groups.values()) bindings.push(JSON.stringify(g.values));
    if (checkReads) this.reads.clear();
    this.appends = [];
    this.messages = [];
    this.timers = new Map();
    this.deliveries = undefined;
    this.fence = undefined;
    return { sql: statementFor(shape), bindings, fence, readVersions };
  }
}

/** Which parts a flush has: its statement's text depends on nothing else. */
interface Shape {
  fence: boolean;
  reads: boolean;
  inbox: boolean;
  events: boolean;
  outbox: boolean;
  cancels: boolean;
  schedules: boolean;
  /** Per group of rows: its shape's key, and a row and the columns that stand for the group. */
  rows: { key: string; row: RowUpsert; columns: string[] }[];
}

const statements = new Map<string, string>();
/** The flush statement of a shape, built once (and prepared once per connection under its name). */
function statementFor(shape: Shape): string {
  const flags = [shape.fence, shape.reads, shape.inbox, shape.events, shape.outbox, shape.cancels, shape.schedules].map((f) => (f ? 1 : 0)).join('');
  const key = `${flags}|${shape.rows.map((r) => r.key).join(';')}`;
  let sql = statements.get(key);
  if (sql) return sql;
  const parts: string[] = [];
  const guarded = shape.fence || shape.reads;
  const onlyIf = guarded ? ' WHERE (SELECT ok FROM g)' : '';
  if (shape.fence) parts.push('fence AS (SELECT token::int AS token FROM partition_owners WHERE consumer = ? AND partition = ? FOR SHARE)');
  if (shape.reads) {
    parts.push(`stale AS (SELECT r.stream_id FROM jsonb_to_recordset(?::jsonb) AS r(stream_id text, version int)
        WHERE EXISTS (SELECT 1 FROM events e WHERE e.stream_id = r.stream_id AND e.version > r.version))`);
  }
  if (guarded) {
    const conditions = [shape.fence ? 'COALESCE((SELECT token FROM fence) = ?, false)' : '', shape.reads ? 'NOT EXISTS (SELECT 1 FROM stale)' : ''].filter(Boolean);
    parts.push(`g AS (SELECT ${conditions.join(' AND ')} AS ok)`);
  }
  if (shape.inbox) parts.push(`inb AS (INSERT INTO inbox (consumer, message_id) SELECT ?, unnest(?::uuid[])${onlyIf})`);
  if (shape.events) {
    parts.push(`ev AS (INSERT INTO events (event_id, stream_id, stream_type, version, type, data, metadata)
        SELECT x.event_id, x.stream_id, x.stream_type, x.version, x.type, x.data, x.metadata
          FROM jsonb_to_recordset(?::jsonb) AS x(event_id uuid, stream_id text, stream_type text, version int, type text, data jsonb, metadata jsonb)${onlyIf})`);
  }
  if (shape.outbox) {
    parts.push(`ob AS (INSERT INTO outbox (topic, partition, message)
        SELECT x.topic, x.partition, x.message FROM jsonb_to_recordset(?::jsonb) AS x(topic text, partition int, message jsonb)${onlyIf})`);
  }
  if (shape.cancels) {
    // unnest, not jsonb_to_recordset: the planner takes a function's rows for 100 and would
    // then hash a scan of the whole table; it takes an unnest of a parameter for 10.
    parts.push(`tc AS (DELETE FROM timers t USING unnest(?::text[], ?::text[], ?::text[]) AS x(actor_type, actor_id, name)
        WHERE t.actor_type = x.actor_type AND t.actor_id = x.actor_id AND t.name = x.name${guarded ? ' AND (SELECT ok FROM g)' : ''})`);
  }
  if (shape.schedules) {
    parts.push(`ts AS (INSERT INTO timers (actor_type, actor_id, name, topic, due_at, data, correlation_id, traceparent, tracestate)
        SELECT x.actor_type, x.actor_id, x.name, x.topic, x.due_at, x.data, x.correlation_id, x.traceparent, x.tracestate
          FROM jsonb_to_recordset(?::jsonb) AS x(actor_type text, actor_id text, name text, topic text, due_at timestamptz,
                                                 data jsonb, correlation_id text, traceparent text, tracestate text)${onlyIf}
        ON CONFLICT (actor_type, actor_id, name) DO UPDATE
          SET topic = EXCLUDED.topic, due_at = EXCLUDED.due_at, data = EXCLUDED.data, correlation_id = EXCLUDED.correlation_id,
              traceparent = EXCLUDED.traceparent, tracestate = EXCLUDED.tracestate)`);
  }
  shape.rows.forEach(({ row, columns }, n) => parts.push(`rm${n} AS (${upsertSql(row, columns, onlyIf)})`));
  const select = `SELECT ${guarded ? '(SELECT ok FROM g)' : 'true'} AS ok, ${shape.fence ? '(SELECT token FROM fence)' : 'NULL::int'} AS token, ${shape.reads ? '(SELECT array_agg(stream_id) FROM stale)' : 'NULL::text[]'} AS stale, now() AS at`;
  sql = parts.length ? `WITH ${parts.join(',\n')}\n${select}` : select;
  statements.set(key, sql);
  return sql;
}

/** `INSERT … SELECT FROM jsonb_populate_recordset(NULL::table, …)` and its ON CONFLICT clause (built with its statement, once per shape). */
function upsertSql(row: RowUpsert, columns: string[], onlyIf: string): string {
  const update = row.update === 'fail' ? [] : row.update;
  for (const name of [row.table, ...columns, ...row.key, ...update, ...(row.touch ? [row.touch] : [])]) {
    if (!IDENT.test(name)) throw new Error(`read-model row: ${JSON.stringify(name)} is not a plain SQL identifier`);
  }
  const sets = [...update.map((c) => `${c} = EXCLUDED.${c}`), ...(row.touch ? [`${row.touch} = now()`] : [])];
  const onConflict = row.update === 'fail' ? '' : `\n        ON CONFLICT (${row.key.join(', ')}) DO ${sets.length ? `UPDATE SET ${sets.join(', ')}` : 'NOTHING'}`;
  return `INSERT INTO ${row.table} (${columns.join(', ')})
        SELECT ${columns.join(', ')} FROM jsonb_populate_recordset(NULL::${row.table}, ?::jsonb)${onlyIf}${onConflict}`;
}

/**
 * A unique violation as the error its writer gets: a stale version is a ConcurrencyError, a
 * message handled before a DuplicateDeliveryError, a registered constraint a ConflictError.
 */
export function mapWriteError(err: unknown): unknown {
  const e = err as { code?: string; constraint?: string; detail?: string };
  if (e?.code !== '23505') return err;
  if (e.constraint === 'events_stream_version') {
    // detail: Key (stream_id, version)=(order-…, 5) already exists.
    const m = /=\((.*), (\d+)\)/.exec(e.detail ?? '');
    return new ConcurrencyError(m?.[1] ?? '?', m ? Number(m[2]) - 1 : 0);
  }
  if (e.constraint === 'inbox_pkey') return new DuplicateDeliveryError('a message of the batch was handled before');
  const message = e.constraint ? conflictMessages.get(e.constraint) : undefined;
  return message ? new ConflictError(message) : err;
}
