import type { Knex } from 'knex';

/**
 * Available units by id, for the claim: each claim starts at a random id instead of the
 * oldest unit, so concurrent claims of one product do not all walk (and skip) the same
 * units that other transactions are taking (see claimUnits in allocation.ts).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE INDEX inventory_claim ON inventory (warehouse_id, product_id, inventory_id)
      WHERE status = 'RESERVATION_PENDING';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS inventory_claim');
}
