import type { Knex } from 'knex';

/**
 * Settings the whole deployment must agree on, recorded once (runtime/store/deployment-settings.ts).
 * `partitions`: a process started with another PARTITIONS would strand the entries of the
 * partitions it no longer reads, so it refuses to start until `tributary repartition` moves
 * the deployment and records the new value here.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE IF NOT EXISTS deployment_settings (
      name       text PRIMARY KEY,
      value      text NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS deployment_settings');
}
