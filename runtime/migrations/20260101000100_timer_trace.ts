import type { Knex } from 'knex';

/** A deadline continues the trace of the step that set it. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE timers ADD COLUMN traceparent text, ADD COLUMN tracestate text');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE timers DROP COLUMN IF EXISTS traceparent, DROP COLUMN IF EXISTS tracestate');
}
