import { expect } from 'chai';
import { reservationAggregate } from '../reservation.aggregate';
import { ReservationStatus as S } from '../contract';
import { ReservationEventType as E } from '../events';
import { CorruptStreamError } from '../../../runtime/actors/machine-state';
import { ValidationError } from '../../../runtime/errors';
import { replay, specFor, type GivenEvent } from '../../../test/support/decider';

const orderId = '44444444-4444-4444-8444-444444444444';
const warehouseId = '11111111-1111-4111-8111-111111111111';
const u1 = 'aaaaaaaa-0000-4000-8000-000000000001';
const u2 = 'aaaaaaaa-0000-4000-8000-000000000002';

const line = { orderId, lineNo: 0, productId: 'SKU-1', quantity: 2 };
const created: GivenEvent = { type: E.RESERVATION_CREATED, data: { ...line, warehouseId } };
const succeeded: GivenEvent = { type: E.RESERVATION_SUCCEEDED, data: { inventoryIds: [u1, u2] } };
const failed = (reason: string): GivenEvent => ({ type: E.RESERVATION_FAILED, data: { reason } });

const reservation = specFor(reservationAggregate);

describe('reservation (given / when / then)', () => {
  describe('reserve', () => {
    it('records the line and the units it holds: RESERVATION_CREATED then RESERVATION_SUCCEEDED', () => {
      const state = reservation.given([]).when('reserve', { ...line, warehouseId, inventoryIds: [u1, u2] }).then([created, succeeded]);
      expect(state.status).to.equal(S.RESERVATION_SUCCEEDED);
      expect(state.version).to.equal(2);
      expect(state.context).to.deep.equal({ ...line, warehouseId, inventoryIds: [u1, u2], reason: null });
    });

    it('refuses fewer or more units than the quantity, or the same unit twice', () => {
      const msg = 'A reservation must hold exactly its quantity of distinct units';
      reservation.given([]).when('reserve', { ...line, warehouseId, inventoryIds: [u1] }).thenRejects(msg);
      reservation.given([]).when('reserve', { ...line, quantity: 1, warehouseId, inventoryIds: [u1, u2] }).thenRejects(msg);
      reservation.given([]).when('reserve', { ...line, warehouseId, inventoryIds: [u1, u1] }).thenRejects(msg);
    });

    it('is refused once the reservation exists (a repeat claims nothing more)', () => {
      reservation.given([created, succeeded]).when('reserve', { ...line, warehouseId, inventoryIds: [u1, u2] }).thenRejects('The reservation already exists');
    });

    it('rejects invalid input', () => {
      expect(() => reservation.given([]).when('reserve', { ...line, warehouseId: 'w', inventoryIds: [u1, u2] }).then([])).to.throw(ValidationError);
    });
  });

  describe('recordUnavailable', () => {
    it('records the line as failed with the reason, without a warehouse', () => {
      const reason = 'no warehouse has 2 × SKU-1 available';
      const state = reservation
        .given([])
        .when('recordUnavailable', { ...line, reason })
        .then([{ type: E.RESERVATION_CREATED, data: { ...line, warehouseId: null } }, failed(reason)]);
      expect(state.status).to.equal(S.RESERVATION_FAILED);
      expect(state.context).to.include({ warehouseId: null, reason });
      expect(state.context.inventoryIds).to.deep.equal([]);
    });

    it('is refused once the reservation exists', () => {
      reservation.given([created, failed('x')]).when('recordUnavailable', { ...line, reason: 'y' }).thenRejects('The reservation already exists');
    });
  });

  describe('releaseInventory', () => {
    it('fails a succeeded reservation with the reason', () => {
      const state = reservation.given([created, succeeded]).when('releaseInventory', { reason: 'payment declined' }).then([failed('payment declined')]);
      expect(state.status).to.equal(S.RESERVATION_FAILED);
      expect(state.context.reason).to.equal('payment declined');
      expect(state.context.inventoryIds, 'keeps which units it held, for the log').to.deep.equal([u1, u2]);
    });

    it('fails a reservation that was only created', () => {
      expect(reservation.given([created]).when('releaseInventory', { reason: 'r' }).then([failed('r')]).status).to.equal(S.RESERVATION_FAILED);
    });

    it('is refused when already failed (the seed’s message)', () => {
      reservation.given([created, succeeded, failed('r')]).when('releaseInventory', { reason: 'again' }).thenRejects('Reservation is already in a failed state');
    });

    it('needs a reason', () => {
      expect(() => reservation.given([created, succeeded]).when('releaseInventory', {}).then([])).to.throw(ValidationError, /reason/);
    });
  });

  describe('replay', () => {
    it('refuses logs the machine does not allow', () => {
      expect(() => replay(reservationAggregate, 'r1', [succeeded])).to.throw(CorruptStreamError);
      expect(() => replay(reservationAggregate, 'r1', [created, succeeded, succeeded])).to.throw(CorruptStreamError);
      expect(() => replay(reservationAggregate, 'r1', [created, failed('x'), succeeded])).to.throw(CorruptStreamError);
      expect(() => replay(reservationAggregate, 'r1', [created, { type: E.RESERVATION_SUCCEEDED, data: { inventoryIds: [u1] } }])).to.throw(CorruptStreamError);
    });
  });
});
