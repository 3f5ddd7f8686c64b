import { defineAggregate } from '@tributary/runtime';
import { WAREHOUSE, WAREHOUSES_TOPIC } from './contract';
import { WarehouseEventType as E } from './events';
import { warehouseMachine, type WarehouseContext, type WarehouseMachineEvent } from './warehouse.machine';
import { newWarehouse } from './schemas';
import { projectWarehouse } from './read-model';

/** The warehouse aggregate: created with an address (and now with its event). */
export const warehouseAggregate = defineAggregate<WarehouseContext, WarehouseMachineEvent>({
  type: WAREHOUSE,
  topic: WAREHOUSES_TOPIC,
  machine: warehouseMachine,
  commands: {
    create: {
      event: E.WAREHOUSE_CREATED,
      input: newWarehouse,
      creates: true,
      rejection: () => 'The warehouse already exists',
    },
  },
  project: projectWarehouse,
  readModel: { table: 'warehouses', id: 'warehouse_id', status: 'status', version: 'version' },
});
