import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { defineContext } from '@tributary/runtime';
import { warehouseAggregate } from './warehouse.aggregate';
import { inventoryAggregate } from './inventory.aggregate';
import { reservationAggregate } from './reservation.aggregate';
import { warehouseRoutes } from './routes';
import { availability, saga } from './reactions';
import { checkWarehouseInvariants } from './invariants';
import { INVENTORY, WAREHOUSE } from './contract';
import { InventoryEventType, ReservationEventType } from './events';

export { checkWarehouseInvariants, type InvariantOptions } from './invariants';

/**
 * Warehouse: warehouses, inventory units (one aggregate per unit) and reservations (one per
 * order line). Its worker makes new units available and runs the warehouse steps of the
 * order saga (RESERVE / RELEASE / COMMIT_INVENTORY on `warehouse.commands`).
 */
export default defineContext({
  name: 'warehouse',
  description: 'Warehouses, inventory units and reservations: the warehouse side of the order saga',
  // Compensations: a unit released back to stock, a reservation failed (released) by the order's saga.
  aggregates: [
    warehouseAggregate,
    { ...inventoryAggregate, compensations: [InventoryEventType.INVENTORY_RELEASED] },
    { ...reservationAggregate, compensations: [ReservationEventType.RESERVATION_FAILED] },
  ],
  collections: {
    warehouses: '/v1/warehouses{?page,size,status}',
    inventory: '/v1/inventory{?warehouseId,productId,reservationId,status,page,size}',
    reservations: '/v1/reservations{?orderId,status,page,size}',
  },
  routes: warehouseRoutes,
  subscriptions: [availability, saga],
  migrations: path.join(__dirname, 'migrations'),
  // Allocation and stock conservation; the runtime's own check already folds every log.
  invariants: (db) => checkWarehouseInvariants(db, { logChecks: false }),
  // A demo warehouse with 10 units of each of SKU-0..SKU-4, created in one transaction as
  // POST /v1/warehouses and POST .../inventory do; the availability worker makes the units available.
  async demo({ actors, db }) {
    const warehouseId = randomUUID();
    const address = { street1: '1 Demo Way', city: 'Springfield', state: 'OR', country: 'US', zipCode: '97477' };
    await db.transaction(async (tx) => {
      await actors.execute(WAREHOUSE, warehouseId, 'create', { name: 'Demo warehouse', address }, { tx, expectedVersion: 0 });
      for (let p = 0; p < 5; p++) {
        for (let u = 0; u < 10; u++) {
          await actors.execute(INVENTORY, randomUUID(), 'create', { warehouseId, productId: `SKU-${p}` }, { tx, expectedVersion: 0 });
        }
      }
    });
    return { warehouse: `/v1/warehouses/${warehouseId}`, inventory: `/v1/warehouses/${warehouseId}/inventory` };
  },
});
