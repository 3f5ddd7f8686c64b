import type { Knex } from 'knex';

/**
 * Indexes the console's reads need: a correlation's timeline and the event stream's
 * correlation filter (an expression index on the metadata's correlation id), the analytics
 * windows (a BRIN index on `created_at`: it follows insertion order, so a few pages of
 * summaries cover millions of rows), and a correlation's pending timers.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE INDEX IF NOT EXISTS events_correlation ON events ((metadata->>'correlationId'), position);
    CREATE INDEX IF NOT EXISTS events_created_at_brin ON events USING brin (created_at);
    CREATE INDEX IF NOT EXISTS timers_correlation ON timers (correlation_id);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS events_correlation, events_created_at_brin, timers_correlation');
}
