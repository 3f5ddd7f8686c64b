import type { Knex } from 'knex';

/**
 * The gateway simulator's own ledger (it stands for the payment provider's books): one row
 * per payment id, which is its idempotency key, so a repeated charge never charges twice.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE payment_gateway_charges (
      payment_id  uuid PRIMARY KEY,
      charge_id   uuid NOT NULL UNIQUE,
      amount      numeric(12,2) NOT NULL,
      status      text NOT NULL CHECK (status IN ('approved', 'declined', 'refunded')),
      reason      text,
      created_at  timestamptz NOT NULL DEFAULT now(),
      refunded_at timestamptz
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS payment_gateway_charges');
}
