import path from 'node:path';
import { defineContext } from '../../runtime';
import { warehouseAggregate } from './warehouse.aggregate';
import { inventoryAggregate } from './inventory.aggregate';
import { reservationAggregate } from './reservation.aggregate';
import { warehouseRoutes } from './routes';
import { availability, saga } from './reactions';
import { checkWarehouseInvariants } from './invariants';

export { checkWarehouseInvariants, type InvariantOptions } from './invariants';

/**
 * Warehouse: warehouses, inventory units (one aggregate per unit) and reservations (one per
 * order line). Its worker makes new units available and runs the warehouse steps of the
 * order saga (RESERVE / RELEASE / COMMIT_INVENTORY on `warehouse.commands`).
 */
export default defineContext({
  name: 'warehouse',
  description: 'Warehouses, inventory units and reservations: the warehouse side of the order saga',
  aggregates: [warehouseAggregate, inventoryAggregate, reservationAggregate],
  collections: { warehouses: '/v1/warehouses{?page,size}' },
  routes: warehouseRoutes,
  subscriptions: [availability, saga],
  migrations: path.join(__dirname, 'migrations'),
  // Allocation and stock conservation; the runtime's own check already folds every log.
  invariants: (db) => checkWarehouseInvariants(db, { logChecks: false }),
});
