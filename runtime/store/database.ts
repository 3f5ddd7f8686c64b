import { createHash } from 'node:crypto';
import pg from 'pg';
import knexFactory, { type Knex } from 'knex';
import { DatabaseUnavailableError, StartupError, TributaryError } from '../errors';
import { WriteBuffer } from './write-buffer';
import type { ActorRef } from '../messaging/envelope';
import type { TimerRequest } from './timers';
import { redactUrl as redact } from '../redact';
import { isBackingServiceUnavailable } from '../unavailable';

/** What queries run on: the pool, or an open transaction. `?` placeholders, pg results. */
export interface Queryable {
  raw<R = pg.QueryResult>(sql: string, bindings?: readonly unknown[]): Promise<R>;
}

/**
 * An open transaction (or savepoint): what a context's code sees of it. Its writes (events,
 * outbox rows, timers, read-model rows) are buffered and sent as one statement before its
 * next other statement or its commit; the buffer itself is the runtime's (`writesOf`).
 */
export interface Tx extends Queryable {
  /**
   * Runs a statement WITHOUT first sending the buffered writes, which it therefore does not
   * see (they go out with the next `raw` or at commit). Only for a read whose rows no write
   * buffered so far can have changed, such as a consumer batch's rows of one order that no
   * earlier message of the batch was about: it saves the batch a round trip per message.
   */
  readUnflushed<R = unknown>(sql: string, bindings?: readonly unknown[]): Promise<R>;
  /** Runs `fn` in a savepoint: rolled back alone if `fn` throws. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Settles when the outermost transaction commits, or rejects when it rolls back: what
   * others can see. (A savepoint's release is not that: its transaction may still roll back.)
   */
  readonly outcome: Promise<void>;
  /**
   * Whether loads in this transaction use the process's cached actor states without reading
   * the log ({@link TransactionOptions.optimistic}).
   */
  readonly optimistic: boolean;
  /**
   * Later loads in this transaction read the log (a decision that refuses must never rest on
   * a cached state). States loaded optimistically before stay checked at commit.
   */
  loadFromLog(): void;
  /**
   * Sets (or moves) a durable timer, written with the transaction: at `dueAt`, `TIMER_FIRED`
   * with `{ name, ...data }` is published on `topic` for the actor.
   */
  schedule(timer: TimerRequest): void;
  /** Clears a timer in this transaction (none set is no error). */
  cancel(actor: ActorRef, name: string): void;
}

/** How {@link Db.transaction} runs. */
export interface TransactionOptions {
  /**
   * Loads use the process's cached actor states without reading the log; each one used is
   * checked unchanged by the statement that commits, and a stale one fails the transaction
   * with `ConcurrencyError` (run it again, without the option, on the log's state). Saves a
   * read per actor on a hot path. Default false.
   */
  optimistic?: boolean;
}

/** A committed transaction's result, and its timestamp. */
export interface Committed<T> {
  result: T;
  /**
   * The transaction's timestamp (Postgres `now()`): the value its `DEFAULT now()` columns
   * got, so a caller can show a row it created without reading it back.
   */
  committedAt: Date;
}

/** The database: a pool of connections. */
export interface Db extends Queryable {
  /** Runs `fn` in a transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Tx) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** {@link transaction}, answering with the commit's timestamp too (no extra statement when the transaction wrote). */
  committed<T>(fn: (tx: Tx) => Promise<T>, options?: TransactionOptions): Promise<Committed<T>>;
  destroy(): Promise<void>;
}

/**
 * The write buffer of a transaction: the runtime's own access (the actor system, consumers,
 * reactions), never a context's. Throws for anything that is not one of this module's transactions.
 */
export function writesOf(tx: Queryable): WriteBuffer {
  if (!(tx instanceof PgTx)) throw new TypeError('not a transaction of createDb');
  return tx.writes;
}

/** Whether `q` is an open transaction (as opposed to the pool). */
export function isTransaction(q: Queryable): q is Tx {
  return q instanceof PgTx;
}

/**
 * `?` placeholders (knex style, `\?` for a literal `?`) to `$n`, skipping quoted strings;
 * converted once per statement text.
 */
const converted = new Map<string, { text: string; name: string }>();
function convert(sql: string): { text: string; name: string } {
  let c = converted.get(sql);
  if (c) return c;
  let out = '';
  let n = 0;
  let quoted = false;
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i];
    if (ch === "'") quoted = !quoted;
    if (!quoted && ch === '\\' && sql[i + 1] === '?') {
      out += '?';
      i++;
    } else if (!quoted && ch === '?') out += `$${++n}`;
    else out += ch;
  }
  c = { text: out, name: `t_${createHash('sha1').update(out).digest('hex').slice(0, 20)}` };
  converted.set(sql, c);
  return c;
}

/**
 * Every parameterized statement is sent as a named prepared statement, so Postgres parses and
 * plans it once per connection instead of on every call (a third of the time of the append
 * statement: ops/bench/README.md). Statements without parameters (DDL, scripts) are sent as they are. Named
 * statements need session pooling: behind PgBouncer, use session mode.
 */
function query<R>(client: pg.Pool | pg.PoolClient, sql: string, bindings: readonly unknown[] = []): Promise<R> {
  if (bindings.length === 0) return (client.query(sql) as Promise<R>).catch(rethrow);
  const { text, name } = convert(sql);
  return (client.query({ name, text, values: bindings as unknown[] }) as Promise<R>).catch(rethrow);
}

/** Rethrows a driver error that means "database unavailable" as the typed error; any other as is. */
function rethrow(err: unknown): never {
  throw err instanceof TributaryError || !isBackingServiceUnavailable(err) ? err : new DatabaseUnavailableError(err);
}

/** What a transaction and its savepoints share: the connection, the buffer, whether BEGIN was sent. */
class Session {
  begun = false;
  readonly writes = new WriteBuffer();
  constructor(readonly client: pg.PoolClient) {}

  /** BEGIN goes out with the first statement: a transaction whose only statement is its flush needs none. */
  async begin(): Promise<void> {
    if (this.begun) return;
    this.begun = true;
    await query(this.client, 'BEGIN');
  }

  /** Before any other statement: BEGIN if not yet sent, then what is buffered. */
  async beforeStatement(): Promise<void> {
    await this.begin();
    if (this.writes.pending) await this.writes.flush(this.direct, false, true);
  }

  /**
   * Flushes and commits; a transaction that sent nothing else runs its flush alone (one
   * atomic statement). `timed`: answers the transaction's timestamp, which the flush returns;
   * only a transaction that wrote nothing reads it with a statement of its own.
   */
  async commit(timed = false): Promise<Date | undefined> {
    await this.writes.flush(this.direct, true);
    let at = this.writes.flushedAt as Date | undefined;
    if (timed && !at) at = (await query<pg.QueryResult<{ at: Date }>>(this.client, 'SELECT now() AS at')).rows[0].at;
    if (this.begun) await query(this.client, 'COMMIT');
    return at;
  }

  /** The connection itself, for the buffer's own statement. */
  readonly direct: Queryable = { raw: <R>(sql: string, bindings?: readonly unknown[]) => query<R>(this.client, sql, bindings) };
}

class PgTx implements Tx {
  /** Settles when this transaction (or savepoint) commits, or rejects when it rolls back. */
  private readonly settled: Promise<void>;
  readonly outcome: Promise<void>;
  private settle!: { resolve: () => void; reject: (err: unknown) => void };
  private savepoints = 0;

  constructor(private readonly session: Session, outer?: PgTx) {
    this.settled = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    this.settled.catch(() => undefined); // nobody has to listen
    this.outcome = outer ? outer.outcome : this.settled;
  }

  get writes(): WriteBuffer {
    return this.session.writes;
  }

  get optimistic(): boolean {
    return this.session.writes.optimistic;
  }

  loadFromLog(): void {
    this.session.writes.optimistic = false;
  }

  schedule(timer: TimerRequest): void {
    this.session.writes.schedule(timer);
  }

  cancel(actor: ActorRef, name: string): void {
    this.session.writes.cancel(actor, name);
  }

  async raw<R>(sql: string, bindings?: readonly unknown[]): Promise<R> {
    await this.session.beforeStatement();
    return query<R>(this.session.client, sql, bindings);
  }

  async readUnflushed<R>(sql: string, bindings?: readonly unknown[]): Promise<R> {
    await this.session.begin();
    return query<R>(this.session.client, sql, bindings);
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const { client, writes } = this.session;
    await this.session.beforeStatement();
    const name = `sp${++this.savepoints}`;
    await query(client, `SAVEPOINT ${name}`);
    const mark = writes.mark();
    const sub = new PgTx(this.session, this);
    try {
      const result = await fn(sub);
      // The savepoint's own writes: a failure here is its caller's.
      await writes.flush(this.session.direct, false);
      await query(client, `RELEASE SAVEPOINT ${name}`);
      sub.committed();
      return result;
    } catch (err) {
      writes.rollbackTo(mark);
      await query(client, `ROLLBACK TO SAVEPOINT ${name}`);
      sub.rolledBack(err);
      throw err;
    }
  }

  committed(): void {
    this.settle.resolve();
  }

  rolledBack(err: unknown): void {
    this.settle.reject(err);
  }
}

/**
 * node-postgres directly (a pool and BEGIN/COMMIT), not knex: knex's per-query and
 * per-transaction machinery cost about twice the CPU of the queries themselves on the hot
 * paths (commands, the relay, consumers). knex still runs the migrations.
 */
class PgDb implements Db {
  constructor(private readonly pool: pg.Pool) {}

  raw<R>(sql: string, bindings?: readonly unknown[]): Promise<R> {
    return query<R>(this.pool, sql, bindings);
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>, options?: TransactionOptions): Promise<T> {
    return (await this.run(fn, options, false)).result;
  }

  async committed<T>(fn: (tx: Tx) => Promise<T>, options?: TransactionOptions): Promise<Committed<T>> {
    const { result, committedAt } = await this.run(fn, options, true);
    return { result, committedAt: committedAt! };
  }

  private async run<T>(fn: (tx: Tx) => Promise<T>, options: TransactionOptions | undefined, timed: boolean): Promise<{ result: T; committedAt?: Date }> {
    const client = await this.pool.connect().catch(rethrow);
    let broken: Error | undefined;
    const session = new Session(client);
    if (options?.optimistic) session.writes.optimistic = true;
    const tx = new PgTx(session);
    try {
      const result = await fn(tx);
      const committedAt = await session.commit(timed);
      tx.committed();
      return { result, committedAt };
    } catch (err) {
      if (session.begun) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          broken = rollbackErr as Error; // the connection is gone: do not pool it again
        }
      } else if (isBackingServiceUnavailable(err)) broken = err as Error;
      tx.rolledBack(err);
      throw err;
    } finally {
      client.release(broken);
    }
  }

  destroy(): Promise<void> {
    return this.pool.end();
  }
}

/**
 * How long a query waits for a connection (a new one, or a free one of the pool) before it
 * fails with {@link DatabaseUnavailableError}: below the default `HTTP_REQUEST_TIMEOUT_MS`
 * (10 s), so that a request whose database does not answer gets the typed 503, and a worker
 * loop backs off instead of waiting. A refused or reset connection fails at once anyway.
 */
export const DB_CONNECT_TIMEOUT_MS = 5_000;

export interface DbOptions {
  /** Size of the pool (`DB_POOL_MAX`). */
  poolMax?: number;
  /** See {@link DB_CONNECT_TIMEOUT_MS}. */
  connectTimeoutMs?: number;
}

/**
 * The pool. It survives Postgres going away: connections that die are dropped (idle or in
 * use, without crashing the process), the next query opens a new one, and while none can be
 * opened every query fails fast with {@link DatabaseUnavailableError}.
 */
export function createDb(databaseUrl: string, poolMaxOrOptions: number | DbOptions = {}): Db {
  const options = typeof poolMaxOrOptions === 'number' ? { poolMax: poolMaxOrOptions } : poolMaxOrOptions;
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    application_name: 'tributary',
    max: options.poolMax ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? DB_CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
  });
  // An idle connection that dies (Postgres restarted) is dropped by the pool; the next query reconnects.
  pool.on('error', () => undefined);
  // A connection that dies while checked out (inside a transaction, between two queries) emits
  // 'error' on its client, where the pool listens only while it is idle: unheard, that event
  // would crash the process. Its queries fail instead (not queryable), and the pool drops it
  // on release.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return new PgDb(pool);
}

/** A knex instance for migrations (and the knex CLI); the runtime's queries do not use it. */
export function createKnex(databaseUrl: string): Knex {
  return knexFactory({
    client: 'pg',
    connection: { connectionString: databaseUrl, application_name: 'tributary-migrate' },
    pool: { min: 0, max: 2 },
    log: { warn: () => undefined, error: () => undefined, deprecate: () => undefined, debug: () => undefined },
  });
}

/** Where to point people when Postgres does not answer. */
const PG_HINT = 'start Postgres (docker compose up -d postgres) or set DATABASE_URL';

/** SQLSTATEs of a CREATE DATABASE that lost a race: the database exists now. */
const ALREADY_CREATED = new Set([
  '42P04', // duplicate_database: it existed when the statement started
  '23505', // unique_violation on pg_database_datname_index: another CREATE committed first
]);

/** Another session was copying template1 at the same moment (FILE_COPY strategy): try again. */
const TEMPLATE_BUSY = '55006';

/**
 * Makes sure the database named in the URL exists, creating it if not, and that the
 * server answers. Throws a one-line {@link StartupError} otherwise.
 *
 * Safe when any number of processes start together on a database that does not exist yet
 * (a web and its workers deployed at once): creators queue on an advisory lock of the
 * `postgres` database, the first creates it, and the others find it there; a CREATE that
 * loses a race anyway (a server where the lock is not shared, such as behind a
 * transaction-mode pooler) counts as done.
 */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres';
  if (await databaseAnswers(databaseUrl)) return;
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 10_000 });
  admin.on('error', () => undefined);
  try {
    await admin.connect();
    await admin.query('SELECT pg_advisory_lock($1)', [CREATE_LOCK_KEY]);
    for (let attempt = 1; ; attempt++) {
      const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (found.rowCount) break;
      try {
        await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
        break;
      } catch (err) {
        const code = (err as { code?: string }).code ?? '';
        if (ALREADY_CREATED.has(code)) break;
        if (code !== TEMPLATE_BUSY || attempt === 10) throw err;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  } catch (err) {
    throw new StartupError(`Cannot create database ${name} at ${redact(databaseUrl)}: ${(err as Error).message}`);
  } finally {
    // Ending the session releases the advisory lock.
    await admin.end().catch(() => undefined);
  }
}

/** Serializes CREATE DATABASE across processes ("trcd"); taken in the `postgres` database. */
const CREATE_LOCK_KEY = 0x7472_6364;

/**
 * Whether the database answers: true when it does, false when it does not exist (3D000);
 * a server that does not answer at all is a {@link StartupError}.
 */
async function databaseAnswers(databaseUrl: string): Promise<boolean> {
  const probe = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000 });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.query('select 1');
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === '3D000') return false;
    throw new StartupError(`Postgres at ${redact(databaseUrl)} does not answer (${(err as Error).message}): ${PG_HINT}`);
  } finally {
    await probe.end().catch(() => undefined);
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
