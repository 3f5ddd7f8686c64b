import type { Knex } from 'knex';

/**
 * Drops two inventory indexes that cost more than they give:
 * - `inventory_warehouse_product_status` made the planner take it for the claim (it matches
 *   all three equality conditions), which then walked every available unit of the product
 *   and filtered by id (ops/bench/README.md, "Figures behind the code"); the counts per
 *   product and status it served read
 *   `inventory_listing` now, a page of one warehouse at a time;
 * - `inventory_available` (ordered by creation) served the claim before it started at a
 *   random id; the search for a warehouse with stock reads `inventory_claim` instead.
 * A unit's status changes twice per order and every index of the table takes a new entry
 * each time (the status is indexed, so the update is never HOT): two indexes fewer is two
 * index insertions fewer per change.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX IF EXISTS inventory_warehouse_product_status;
    DROP INDEX IF EXISTS inventory_available;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE INDEX IF NOT EXISTS inventory_warehouse_product_status ON inventory (warehouse_id, product_id, status);
    CREATE INDEX IF NOT EXISTS inventory_available ON inventory (warehouse_id, product_id, created_at, inventory_id)
      WHERE status = 'RESERVATION_PENDING';
  `);
}
