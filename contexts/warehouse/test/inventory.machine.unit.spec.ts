import { expect } from 'chai';
import { inventoryAggregate } from '../inventory.aggregate';
import { InventoryStatus as S } from '../contract';
import { InventoryEventType as E } from '../events';
import { ActorSystem } from '../../../runtime/actors/actor-system';
import { CorruptStreamError } from '../../../runtime/actors/machine-state';
import { Topology } from '../../../runtime/messaging/topology';
import { ValidationError } from '../../../runtime/errors';
import { replay, specFor, type GivenEvent } from '../../../test/support/decider';

const warehouseId = '11111111-1111-4111-8111-111111111111';
const r1 = '22222222-2222-4222-8222-222222222222';
const r2 = '33333333-3333-4333-8333-333333333333';

const created: GivenEvent = { type: E.INVENTORY_CREATED, data: { warehouseId, productId: 'SKU-1' } };
const available: GivenEvent = { type: E.RESERVATION_PENDING };
const connected = (reservationId: string): GivenEvent => ({ type: E.RESERVATION_CONNECTED, data: { reservationId } });
const sold = (reservationId: string): GivenEvent => ({ type: E.INVENTORY_RESERVED, data: { reservationId } });
const released = (reservationId: string): GivenEvent => ({ type: E.INVENTORY_RELEASED, data: { reservationId } });

/** Logs that lead to each status (a released unit is available again). */
const logs = {
  created: [created],
  available: [created, available],
  connected: [created, available, connected(r1)],
  sold: [created, available, connected(r1), sold(r1)],
  released: [created, available, connected(r1), released(r1)],
};

const unit = specFor(inventoryAggregate);

describe('inventory unit (given / when / then)', () => {
  describe('create', () => {
    it('creates the unit in INVENTORY_CREATED, not yet available', () => {
      const state = unit.given([]).when('create', { warehouseId, productId: ' SKU-1 ' }).then([created]);
      expect(state.status).to.equal(S.INVENTORY_CREATED);
      expect(state.context).to.deep.equal({ warehouseId, productId: 'SKU-1', reservationId: null });
    });

    it('is refused once the unit exists', () => {
      unit.given(logs.created).when('create', { warehouseId, productId: 'SKU-1' }).thenRejects('The unit already exists');
    });

    it('rejects a missing product or a warehouse id that is not a UUID', () => {
      expect(() => unit.given([]).when('create', { warehouseId }).then([])).to.throw(ValidationError, /productId is required/);
      expect(() => unit.given([]).when('create', { warehouseId: 'w1', productId: 'SKU-1' }).then([])).to.throw(ValidationError, /warehouseId must be a UUID/);
    });
  });

  describe('makeAvailable', () => {
    it('makes a new unit available (RESERVATION_PENDING)', () => {
      expect(unit.given(logs.created).when('makeAvailable').then([available]).status).to.equal(S.RESERVATION_PENDING);
    });

    it('is refused when already available', () => {
      unit.given(logs.available).when('makeAvailable').thenRejects('The unit is already available');
      unit.given(logs.released).when('makeAvailable').thenRejects('The unit is already available');
    });

    for (const status of ['connected', 'sold'] as const) {
      it(`is refused when ${status}`, () => {
        unit.given(logs[status]).when('makeAvailable').thenRejects('Only a new unit can be made available');
      });
    }
  });

  describe('connectReservation', () => {
    it('claims an available unit for a reservation', () => {
      const state = unit.given(logs.available).when('connectReservation', { reservationId: r1 }).then([connected(r1)]);
      expect(state.status).to.equal(S.RESERVATION_CONNECTED);
      expect(state.context.reservationId).to.equal(r1);
    });

    it('claims a released unit again, for another reservation', () => {
      const state = unit.given(logs.released).when('connectReservation', { reservationId: r2 }).then([connected(r2)]);
      expect(state.context.reservationId).to.equal(r2);
    });

    it('refuses a unit another reservation holds: no unit is allocated twice', () => {
      unit.given(logs.connected).when('connectReservation', { reservationId: r2 }).thenRejects('Only an available unit can be reserved');
      unit.given(logs.connected).when('connectReservation', { reservationId: r1 }).thenRejects('Only an available unit can be reserved');
    });

    for (const status of ['created', 'sold'] as const) {
      it(`is refused when ${status}`, () => {
        unit.given(logs[status]).when('connectReservation', { reservationId: r1 }).thenRejects('Only an available unit can be reserved');
      });
    }

    it('needs a reservation id', () => {
      expect(() => unit.given(logs.available).when('connectReservation', {}).then([])).to.throw(ValidationError, /reservationId is required/);
    });
  });

  describe('sell', () => {
    it('sells a unit held by the reservation (INVENTORY_RESERVED)', () => {
      const state = unit.given(logs.connected).when('sell', { reservationId: r1 }).then([sold(r1)]);
      expect(state.status).to.equal(S.INVENTORY_RESERVED);
      expect(state.context.reservationId).to.equal(r1);
    });

    it('is refused for another reservation', () => {
      unit.given(logs.connected).when('sell', { reservationId: r2 }).thenRejects('Only a unit held by this reservation can be sold');
    });

    it('is refused when available or new', () => {
      unit.given(logs.available).when('sell', { reservationId: r1 }).thenRejects('Only a unit held by this reservation can be sold');
      unit.given(logs.created).when('sell', { reservationId: r1 }).thenRejects('Only a unit held by this reservation can be sold');
    });

    it('is refused when already sold', () => {
      unit.given(logs.sold).when('sell', { reservationId: r1 }).thenRejects('The unit is sold and cannot be sold');
    });
  });

  describe('release', () => {
    it('makes a unit held by the reservation available again', () => {
      const state = unit.given(logs.connected).when('release', { reservationId: r1 }).then([released(r1)]);
      expect(state.status).to.equal(S.RESERVATION_PENDING);
      expect(state.context.reservationId).to.equal(null);
    });

    it('is refused for a reservation that does not hold the unit (a late release cannot free another order’s unit)', () => {
      const reclaimed = [...logs.released, connected(r2)];
      unit.given(reclaimed).when('release', { reservationId: r1 }).thenRejects('Only a unit held by this reservation can be released');
    });

    it('is refused when already released (a repeat changes nothing)', () => {
      unit.given(logs.released).when('release', { reservationId: r1 }).thenRejects('Only a unit held by this reservation can be released');
    });

    it('never releases a sold unit', () => {
      unit.given(logs.sold).when('release', { reservationId: r1 }).thenRejects('The unit is sold and cannot be released');
    });
  });

  describe('replay', () => {
    it('folds a unit claimed, released, claimed again and sold', () => {
      const state = replay(inventoryAggregate, 'u1', [...logs.released, connected(r2), sold(r2)]);
      expect(state).to.deep.equal({ id: 'u1', status: S.INVENTORY_RESERVED, version: 6, context: { warehouseId, productId: 'SKU-1', reservationId: r2 } });
    });

    it('throws CorruptStreamError on a log that claims a unit twice', () => {
      expect(() => replay(inventoryAggregate, 'u1', [...logs.connected, connected(r2)])).to.throw(CorruptStreamError, /RESERVATION_CONNECTED \(v4\)/);
      expect(() => replay(inventoryAggregate, 'u1', [created, connected(r1)])).to.throw(CorruptStreamError);
    });
  });

  it('lists no public command in any state (units change only through the worker and the saga)', () => {
    const actors = new ActorSystem(undefined as never, new Topology('x:', 4), 0);
    actors.register(inventoryAggregate);
    for (const log of Object.values(logs)) expect(actors.allowedCommands('inventory', replay(inventoryAggregate, 'u1', log))).to.deep.equal([]);
  });
});
