import { assign, setup } from 'xstate';
import { WarehouseEventType as E, WarehouseStatus as S } from './events';

export interface Address {
  street1: string;
  street2?: string;
  city: string;
  state: string;
  country: string;
  zipCode: string;
}

export interface WarehouseContext {
  name: string | null;
  address: Address | null;
}

export type WarehouseMachineEvent = { type: typeof E.WAREHOUSE_CREATED; data: { name?: string; address: Address } };

/** A warehouse is created and then only holds inventory: one transition (the seed's). */
export const warehouseMachine = setup({
  types: { context: {} as WarehouseContext, events: {} as WarehouseMachineEvent },
  actions: {
    created: assign(({ event }) => ({ name: event.data.name ?? null, address: event.data.address })),
  },
}).createMachine({
  id: 'warehouse',
  initial: 'new',
  context: { name: null, address: null },
  states: {
    new: { on: { [E.WAREHOUSE_CREATED]: { target: S.WAREHOUSE_CREATED, actions: 'created' } } },
    [S.WAREHOUSE_CREATED]: {},
  },
});
