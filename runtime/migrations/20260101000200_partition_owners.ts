import type { Knex } from 'knex';

/**
 * The fencing token of each (consumer group, partition). A worker that takes a partition's
 * lease raises the token here before it reads; every batch it handles checks, under a
 * FOR SHARE lock, that the token is still its own. So an owner that lost its lease without
 * knowing it (paused, cut off from Redis) cannot commit once the new owner has fenced it.
 * The token lives in Postgres, not Redis: it must survive Redis losing its data.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE partition_owners (
      consumer    text NOT NULL,
      partition   integer NOT NULL,
      token       bigint NOT NULL,
      owner       text NOT NULL,
      acquired_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (consumer, partition)
    )
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS partition_owners');
}
