import type { Knex } from 'knex';

/** The orders read model, written in the same transaction as the order's events. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE orders (
      order_id         uuid PRIMARY KEY,
      account_id       uuid NOT NULL,
      status           text NOT NULL,
      total_cents      bigint NOT NULL,
      line_items       jsonb NOT NULL,
      shipping_address jsonb NOT NULL,
      warehouse_id     uuid,
      reservation_ids  jsonb NOT NULL DEFAULT '[]',
      payment_id       uuid,
      failure_reason   text,
      version          integer NOT NULL,
      created_at       timestamptz NOT NULL DEFAULT now(),
      updated_at       timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX orders_account ON orders (account_id, created_at);
    CREATE INDEX orders_created ON orders (created_at, order_id);
    CREATE INDEX orders_status ON orders (status);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS orders');
}
