import { z } from 'zod';
import { defineAggregate, type AggregateState } from '@tributary/runtime';
import { INVENTORY, INVENTORY_TOPIC, InventoryStatus as S } from './contract';
import { InventoryEventType as E } from './events';
import { inventoryMachine, type InventoryContext, type InventoryEvent } from './inventory.machine';
import { productId, uuid } from './schemas';
import { inventoryRow } from './read-model';

type State = AggregateState<InventoryContext>;
const byReservation = z.object({ reservationId: uuid('reservationId') }).strict();

/** Why a unit that is not held by the given reservation cannot be sold or released. */
const notHeld = (verb: string) => (s: State) =>
  s.status === S.INVENTORY_RESERVED ? `The unit is sold and cannot be ${verb}` : `Only a unit held by this reservation can be ${verb}`;

/**
 * One inventory unit. Every command is internal: units change only through the warehouse's
 * worker (availability) and the order saga's commands, never by a client directly, so a
 * unit's status always agrees with the reservation that holds it.
 */
export const inventoryAggregate = defineAggregate<InventoryContext, InventoryEvent>({
  type: INVENTORY,
  topic: INVENTORY_TOPIC,
  machine: inventoryMachine,
  commands: {
    create: {
      event: E.INVENTORY_CREATED,
      input: z.object({ warehouseId: uuid('warehouseId'), productId }).strict(),
      creates: true,
      public: false, // POST /v1/warehouses/{id}/inventory
      rejection: () => 'The unit already exists',
    },
    makeAvailable: {
      event: E.RESERVATION_PENDING,
      public: false,
      rejection: (s) => (s.status === S.RESERVATION_PENDING ? 'The unit is already available' : 'Only a new unit can be made available'),
    },
    connectReservation: {
      event: E.RESERVATION_CONNECTED,
      input: byReservation,
      public: false,
      rejection: () => 'Only an available unit can be reserved',
    },
    sell: {
      event: E.INVENTORY_RESERVED,
      input: byReservation,
      public: false,
      rejection: notHeld('sold'),
    },
    release: {
      event: E.INVENTORY_RELEASED,
      input: byReservation,
      public: false,
      rejection: notHeld('released'),
    },
  },
  projectRow: inventoryRow,
  readModel: { table: 'inventory', id: 'inventory_id', status: 'status', version: 'version' },
});
