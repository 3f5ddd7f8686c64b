import type { Knex } from 'knex';

/**
 * The BRIN index on `events.created_at`, summarized as the log grows. A BRIN index only skips
 * page ranges it has summarized; new ranges wait for a VACUUM, and the analytics windows read
 * exactly the newest rows, so without this every query rechecked the whole recent tail
 * (every range lossy; the cost is in ops/bench/README.md). `autosummarize` asks
 * autovacuum to summarize each range once the next one starts filling; 32 pages a range
 * (about 500 events) keeps the unsummarized tail small.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX IF EXISTS events_created_at_brin;
    CREATE INDEX events_created_at_brin ON events USING brin (created_at) WITH (pages_per_range = 32, autosummarize = on);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX IF EXISTS events_created_at_brin;
    CREATE INDEX events_created_at_brin ON events USING brin (created_at);
  `);
}
