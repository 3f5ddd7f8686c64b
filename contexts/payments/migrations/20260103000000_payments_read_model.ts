import type { Knex } from 'knex';

/** The payments read model, written in the same transaction as the payment's events. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE payments (
      payment_id      uuid PRIMARY KEY,
      order_id        uuid NOT NULL,
      amount          numeric(12,2),
      payment_method  text,
      status          text NOT NULL,
      failure_reason  text,
      charge_id       text,
      version         integer NOT NULL,
      created_at      timestamptz NOT NULL DEFAULT now(),
      updated_at      timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT payments_order_unique UNIQUE (order_id)
    );
    CREATE INDEX payments_created ON payments (created_at, payment_id);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS payments');
}
