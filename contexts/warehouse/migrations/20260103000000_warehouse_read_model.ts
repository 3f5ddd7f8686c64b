import type { Knex } from 'knex';

/**
 * The warehouse context's read model, written in the same transaction as its events:
 * warehouses, one row per inventory unit, one row per reservation (order line), and the
 * allocation table whose primary key makes a unit impossible to hold twice.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE warehouses (
      warehouse_id uuid PRIMARY KEY,
      name         text,
      address      jsonb NOT NULL,
      status       text NOT NULL,
      version      integer NOT NULL,
      created_at   timestamptz NOT NULL DEFAULT now(),
      updated_at   timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX warehouses_created ON warehouses (created_at, warehouse_id);

    CREATE TABLE inventory (
      inventory_id   uuid PRIMARY KEY,
      warehouse_id   uuid NOT NULL REFERENCES warehouses,
      product_id     text NOT NULL,
      status         text NOT NULL,
      reservation_id uuid,
      version        integer NOT NULL,
      created_at     timestamptz NOT NULL DEFAULT now(),
      updated_at     timestamptz NOT NULL DEFAULT now()
    );
    -- Counts per product and status of a warehouse (GET .../inventory).
    CREATE INDEX inventory_warehouse_product_status ON inventory (warehouse_id, product_id, status);
    -- The saga's search and claim touch only available units: a small, hot partial index.
    CREATE INDEX inventory_available ON inventory (warehouse_id, product_id, created_at, inventory_id)
      WHERE status = 'RESERVATION_PENDING';
    CREATE INDEX inventory_listing ON inventory (warehouse_id, created_at, inventory_id);
    CREATE INDEX inventory_reservation ON inventory (reservation_id) WHERE reservation_id IS NOT NULL;

    CREATE TABLE reservations (
      reservation_id uuid PRIMARY KEY,
      order_id       uuid NOT NULL,
      line_no        integer NOT NULL,
      warehouse_id   uuid REFERENCES warehouses,
      product_id     text NOT NULL,
      quantity       integer NOT NULL CHECK (quantity > 0),
      status         text NOT NULL,
      inventory_ids  uuid[] NOT NULL DEFAULT '{}',
      reason         text,
      version        integer NOT NULL,
      created_at     timestamptz NOT NULL DEFAULT now(),
      updated_at     timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT reservations_order_line UNIQUE (order_id, line_no)
    );

    -- One row per unit held by a live (succeeded, not released) reservation. The primary
    -- key on the unit is the second line of defence against double allocation.
    CREATE TABLE inventory_allocations (
      inventory_id   uuid PRIMARY KEY REFERENCES inventory,
      reservation_id uuid NOT NULL REFERENCES reservations,
      allocated_at   timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX inventory_allocations_reservation ON inventory_allocations (reservation_id);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS inventory_allocations, reservations, inventory, warehouses');
}
