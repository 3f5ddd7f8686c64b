import { expect } from 'chai';
import { describeShortage, outcomeOf, reservationIdFor, wantedPerProduct } from '../allocation';
import type { ReservationView } from '../read-model';

const orderId = '44444444-4444-4444-8444-444444444444';

const view = (over: Partial<ReservationView>): ReservationView => ({
  reservationId: reservationIdFor(orderId, over.lineNo ?? 0),
  orderId,
  lineNo: 0,
  warehouseId: 'w1',
  productId: 'SKU-1',
  quantity: 1,
  status: 'RESERVATION_SUCCEEDED',
  inventoryIds: ['u1'],
  reason: null,
  version: 2,
  createdAt: '',
  lastModified: '',
  ...over,
});

describe('allocation decisions', () => {
  it('derives a stable UUID per order line, different per line and per order', () => {
    const id = reservationIdFor(orderId, 0);
    expect(id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(reservationIdFor(orderId, 0)).to.equal(id);
    expect(reservationIdFor(orderId, 1)).to.not.equal(id);
    expect(reservationIdFor('55555555-5555-4555-8555-555555555555', 0)).to.not.equal(id);
  });

  it('adds up the quantity of lines naming the same product, keeping their order', () => {
    const wanted = wantedPerProduct([
      { productId: 'B', quantity: 1 },
      { productId: 'A', quantity: 2 },
      { productId: 'B', quantity: 3 },
    ]);
    expect([...wanted]).to.deep.equal([['B', 4], ['A', 2]]);
    expect(describeShortage(wanted)).to.equal('no warehouse has 4 × B and 2 × A available');
  });

  describe('the answer to a repeated RESERVE_INVENTORY', () => {
    it('is INVENTORY_RESERVED with the same ids when every line succeeded', () => {
      const rs = [view({ lineNo: 0 }), view({ lineNo: 1 })];
      expect(outcomeOf(rs)).to.deep.equal({ kind: 'reserved', warehouseId: 'w1', reservationIds: rs.map((r) => r.reservationId) });
    });

    it('repeats the recorded reason when no warehouse had the stock', () => {
      const failed = view({ status: 'RESERVATION_FAILED', warehouseId: null, inventoryIds: [], reason: 'no warehouse has 1 × SKU-1 available' });
      expect(outcomeOf([failed])).to.deep.equal({ kind: 'unavailable', reason: 'no warehouse has 1 × SKU-1 available' });
    });

    it('says the reservations were released when they had been', () => {
      const released = view({ status: 'RESERVATION_FAILED', reason: 'payment declined' });
      expect(outcomeOf([released, view({ lineNo: 1 })])).to.deep.equal({ kind: 'unavailable', reason: "the order's reservations were released: payment declined" });
    });
  });
});
