import knexFactory, { type Knex } from 'knex';
import { StartupError } from '../errors';

export type Db = Knex;
export type Tx = Knex.Transaction;
/** Anything queries can run on: the pool or an open transaction. */
export type Queryable = Knex | Knex.Transaction;

export function createDb(databaseUrl: string, poolMax = 10): Db {
  return knexFactory({
    client: 'pg',
    connection: { connectionString: databaseUrl, application_name: 'tributary' },
    pool: { min: 0, max: poolMax },
    acquireConnectionTimeout: 10_000,
    // knex prints pool errors itself; ours surface as typed errors, 503s and one-line start-up failures.
    log: { warn: () => undefined, error: () => undefined, deprecate: () => undefined, debug: () => undefined },
  });
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
