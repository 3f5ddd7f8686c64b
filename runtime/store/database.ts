import { createHash } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import { StartupError } from '../errors';

export type Db = Knex;
export type Tx = Knex.Transaction;
/** Anything queries can run on: the pool or an open transaction. */
export type Queryable = Knex | Knex.Transaction;

export function createDb(databaseUrl: string, poolMax = 10): Db {
  const db = knexFactory({
    client: 'pg',
    connection: { connectionString: databaseUrl, application_name: 'tributary' },
    pool: { min: 0, max: poolMax },
    acquireConnectionTimeout: 10_000,
    // knex prints pool errors itself; ours surface as typed errors, 503s and one-line start-up failures.
    log: { warn: () => undefined, error: () => undefined, deprecate: () => undefined, debug: () => undefined },
  });
  prepareStatements(db);
  return db;
}

interface PgDialect {
  _query(connection: unknown, obj: { sql: string; bindings?: unknown[]; options?: Record<string, unknown> }): Promise<unknown>;
}

const PREPARED = Symbol('tributary.prepared');

/**
 * Sends every parameterized query as a named prepared statement, so Postgres parses and
 * plans each distinct statement once per connection instead of on every call (measured on
 * the append statement: 354 → 110 µs). The name is derived from the SQL text; statements
 * without parameters (migrations, DDL, scripts) are sent as they are. Named statements need
 * session pooling: behind PgBouncer, use session mode, not transaction mode.
 */
function prepareStatements(db: Db): void {
  // Transactions run on objects made from the dialect's prototype, so that is what is wrapped (once).
  const proto = Object.getPrototypeOf(db.client) as PgDialect & { [PREPARED]?: true };
  if (proto[PREPARED]) return;
  const send = proto._query;
  const names = new Map<string, string>();
  proto._query = function namedQuery(this: PgDialect, connection, obj) {
    if (obj.bindings && obj.bindings.length > 0 && !obj.options?.name) {
      let name = names.get(obj.sql);
      if (!name) names.set(obj.sql, (name = `t_${createHash('sha1').update(obj.sql).digest('hex').slice(0, 20)}`));
      obj.options = { ...obj.options, name };
    }
    return send.call(this, connection, obj);
  };
  proto[PREPARED] = true;
}

/** Where to point people when Postgres does not answer. */
const PG_HINT = 'start Postgres (docker compose up -d postgres) or set DATABASE_URL';

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]+@/, '//$1:***@');
}

/**
 * Makes sure the database named in the URL exists, creating it if not, and that the
 * server answers. Throws a one-line {@link StartupError} otherwise.
 */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres';
  const probe = createDb(databaseUrl, 1);
  try {
    await probe.raw('select 1');
    return;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== '3D000') throw new StartupError(`Postgres at ${redact(databaseUrl)} does not answer (${(err as Error).message}): ${PG_HINT}`);
  } finally {
    await probe.destroy();
  }
  url.pathname = '/postgres';
  const admin = createDb(url.toString(), 1);
  try {
    await admin.raw(`CREATE DATABASE ${quoteIdent(name)}`);
  } catch (err) {
    if ((err as { code?: string }).code !== '42P04') {
      throw new StartupError(`Cannot create database ${name} at ${redact(databaseUrl)}: ${(err as Error).message}`);
    }
  } finally {
    await admin.destroy();
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
