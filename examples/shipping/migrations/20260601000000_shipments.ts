import type { Knex } from 'knex';

/**
 * One row per shipment. `order_id` is unique: whatever delivers ORDER_SUCCEEDED twice (a
 * redelivery the inbox does not catch, a second event for the same order), an order ships once.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE shipments (
      shipment_id uuid PRIMARY KEY,
      order_id    uuid NOT NULL,
      status      text NOT NULL,
      account_id  uuid,
      ship_to     jsonb,
      units       integer,
      total       numeric(14, 2),
      created_at  timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT shipments_one_per_order UNIQUE (order_id)
    );
    CREATE INDEX shipments_created ON shipments (created_at, shipment_id);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS shipments');
}
