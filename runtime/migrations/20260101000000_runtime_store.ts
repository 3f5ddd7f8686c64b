import type { Knex } from 'knex';

/** Runtime-owned tables: the event store, outbox, inbox, durable timers and snapshots. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE events (
      position    bigserial PRIMARY KEY,
      event_id    uuid NOT NULL UNIQUE,
      stream_id   text NOT NULL,
      stream_type text NOT NULL,
      version     integer NOT NULL CHECK (version > 0),
      type        text NOT NULL,
      data        jsonb NOT NULL,
      metadata    jsonb NOT NULL,
      created_at  timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT events_stream_version UNIQUE (stream_id, version)
    );
    CREATE INDEX events_type_position ON events (stream_type, position);

    -- Messages waiting to be relayed to Redis. Rows are deleted once published.
    CREATE TABLE outbox (
      id         bigserial PRIMARY KEY,
      topic      text NOT NULL,
      partition  integer NOT NULL,
      message    jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );

    -- One row per message a consumer group has handled: the exactly-once effect.
    CREATE TABLE inbox (
      consumer     text NOT NULL,
      message_id   uuid NOT NULL,
      processed_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (consumer, message_id)
    );

    -- Durable deadlines (saga steps); Redis may lose them, Postgres does not.
    -- When due, the poller turns a timer into a TIMER_FIRED message on its topic (outbox).
    CREATE TABLE timers (
      actor_type  text NOT NULL,
      actor_id    text NOT NULL,
      name        text NOT NULL,
      topic       text NOT NULL,
      due_at      timestamptz NOT NULL,
      data        jsonb NOT NULL DEFAULT '{}',
      correlation_id text NOT NULL,
      created_at  timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (actor_type, actor_id, name)
    );
    CREATE INDEX timers_due ON timers (due_at);

    CREATE TABLE snapshots (
      stream_id  text PRIMARY KEY,
      version    integer NOT NULL,
      state      jsonb NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS snapshots, timers, inbox, outbox, events');
}
