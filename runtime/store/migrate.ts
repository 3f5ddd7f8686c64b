import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import type { Knex } from 'knex';
import { createKnex } from './database';
import { StartupError } from '../errors';

/** Serializes migrations when several processes start at once. */
const MIGRATION_LOCK_KEY = 0x7472_6d67; // "trmg"

export const RUNTIME_MIGRATIONS = path.join(__dirname, '..', 'migrations');

/** The file types loaded as migrations: TypeScript in development, its build in production. */
const MIGRATION_EXTENSIONS = ['.ts', '.js'];

/**
 * The name `knex_migrations` records for a migration file: the name of its TypeScript source,
 * whichever form runs (`x.ts` under tsx, its build `x.js` in production). knex compares names
 * with their extension, and databases migrated from the source already list `.ts` names: were
 * a build recorded as `x.js`, every migration would run again.
 */
export function migrationName(file: string): string {
  return `${path.basename(file, path.extname(file))}.ts`;
}

interface MigrationFile {
  dir: string;
  file: string;
}

/** The migration files of these directories (no declaration files), sorted by name across them. */
function migrationFiles(dirs: string[]): MigrationFile[] {
  return dirs
    .flatMap((dir) => fs.readdirSync(dir).filter((f) => MIGRATION_EXTENSIONS.includes(path.extname(f)) && !f.endsWith('.d.ts')).map((file) => ({ dir, file })))
    .sort((a, b) => migrationName(a.file).localeCompare(migrationName(b.file)));
}

/** knex's migration source over {@link migrationFiles}, named by {@link migrationName}. */
function migrationSource(dirs: string[]): Knex.MigrationSource<MigrationFile> {
  return {
    getMigrations: async () => migrationFiles(dirs),
    getMigrationName: (m) => migrationName(m.file),
    getMigration: async (m) => require(path.join(m.dir, m.file)) as Knex.Migration,
  };
}

/**
 * Runs the runtime's migrations and those of the given context directories, sorted together
 * by file name (each file name starts with a timestamp). Missing files of contexts that are
 * not loaded in this process are tolerated, so `CONTEXTS` can change between deployments.
 */
export async function migrateLatest(databaseUrl: string, contextMigrationDirs: string[]): Promise<string[]> {
  const lock = new Client({ connectionString: databaseUrl, application_name: 'tributary-migrate' });
  await lock.connect();
  const db = createKnex(databaseUrl);
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const [, applied] = await db.migrate.latest({
      migrationSource: migrationSource([RUNTIME_MIGRATIONS, ...contextMigrationDirs]),
      tableName: 'knex_migrations',
      disableMigrationsListValidation: true,
    });
    return applied as string[];
  } finally {
    await db.destroy();
    await lock.end().catch(() => undefined);
  }
}

/**
 * The migration files of these directories that `knex_migrations` does not list yet (all of
 * them when it does not exist). Read-only on purpose: knex's own `migrate.list()` creates its
 * tables when they are missing, which races with the process that is migrating.
 */
export async function pendingMigrations(databaseUrl: string, contextMigrationDirs: string[]): Promise<string[]> {
  const files = migrationFiles([RUNTIME_MIGRATIONS, ...contextMigrationDirs]).map((m) => migrationName(m.file));
  const client = new Client({ connectionString: databaseUrl, application_name: 'tributary-migrate' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    // Two statements: one naming a missing table fails at parse time, whatever guards it.
    const { rows } = await client.query<{ exists: boolean }>("SELECT to_regclass('knex_migrations') IS NOT NULL AS exists");
    const applied = new Set(rows[0].exists ? (await client.query<{ name: string }>('SELECT name FROM knex_migrations')).rows.map((r) => r.name) : []);
    return files.filter((f) => !applied.has(f));
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * For a process that does not migrate (`MIGRATE_ON_START=false`, the workers of a split
 * deployment): waits until another process has applied every migration this one needs, so
 * that it never runs its relay and consumers against missing tables (nor reports ready).
 * Reports what it waits for every `logEveryMs`; gives up with a {@link StartupError} once
 * `signal` aborts (a stop requested during start-up).
 */
export async function waitForMigrations(
  databaseUrl: string,
  contextMigrationDirs: string[],
  onWaiting: (pending: string[]) => void,
  { pollMs = 500, logEveryMs = 5_000, signal }: { pollMs?: number; logEveryMs?: number; signal?: AbortSignal } = {},
): Promise<void> {
  let lastLog = 0;
  for (;;) {
    if (signal?.aborted) throw new StartupError('Stopped while waiting for another process to apply the migrations (MIGRATE_ON_START=false)');
    const pending = await pendingMigrations(databaseUrl, contextMigrationDirs);
    if (pending.length === 0) return;
    if (Date.now() - lastLog >= logEveryMs) {
      lastLog = Date.now();
      onWaiting(pending);
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, pollMs);
      signal?.addEventListener('abort', done, { once: true });
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
    });
  }
}
