import path from 'node:path';
import { Client } from 'pg';
import { createKnex } from './database';

/** Serializes migrations when several processes start at once. */
const MIGRATION_LOCK_KEY = 0x7472_6d67; // "trmg"

export const RUNTIME_MIGRATIONS = path.join(__dirname, '..', 'migrations');

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
      directory: [RUNTIME_MIGRATIONS, ...contextMigrationDirs],
      loadExtensions: ['.ts', '.js'],
      tableName: 'knex_migrations',
      disableMigrationsListValidation: true,
    });
    return applied as string[];
  } finally {
    await db.destroy();
    await lock.end().catch(() => undefined);
  }
}
