import type { Queryable } from './database';
import { StartupError } from '../errors';

/**
 * Settings the processes of one deployment must agree on, kept in Postgres
 * (`deployment_settings`), where every process of the deployment looks.
 */

/** The recorded PARTITIONS: the first process to start records its own. */
export async function recordedPartitions(db: Queryable, partitions: number): Promise<number> {
  for (;;) {
    const { rows } = await db.raw<{ rows: { value: string }[] }>(
      `WITH ins AS (
         INSERT INTO deployment_settings (name, value, updated_at) VALUES ('partitions', ?, now())
         ON CONFLICT (name) DO NOTHING RETURNING value)
       SELECT value FROM ins UNION ALL SELECT value FROM deployment_settings WHERE name = 'partitions'`,
      [String(partitions)],
    );
    // No row: another process inserted it concurrently, after this statement's snapshot. Read again.
    if (rows.length) return Number(rows[0].value);
  }
}

/**
 * Refuses to start a process while a repartition is unfinished, or whose PARTITIONS differs from the deployment's: it would read
 * (and route to) other streams than the rest, and strand the entries of the partitions it
 * no longer reads. Call after the migrations, before anything reads or writes streams.
 */
export async function checkPartitions(db: Queryable, partitions: number): Promise<void> {
  const { rows } = await db.raw<{ rows: { value: string }[] }>("SELECT value FROM deployment_settings WHERE name = 'repartition'");
  if (rows.length) {
    const { to } = JSON.parse(rows[0].value) as { to: number };
    throw new StartupError(`a repartition to ${to} partitions is unfinished (recorded in Postgres): run tributary repartition --to ${to} to finish it, then start with PARTITIONS=${to}`);
  }
  const recorded = await recordedPartitions(db, partitions);
  if (recorded !== partitions)
    throw new StartupError(
      `PARTITIONS=${partitions} differs from this deployment's ${recorded} (recorded in Postgres): set PARTITIONS=${recorded}, or stop every worker and run tributary repartition --to ${partitions}`,
    );
}

/** Records PARTITIONS (the last step of a repartition). */
export async function recordPartitions(db: Queryable, partitions: number): Promise<void> {
  await db.raw(
    `INSERT INTO deployment_settings (name, value, updated_at) VALUES ('partitions', ?, now())
     ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = now()`,
    [String(partitions)],
  );
}
