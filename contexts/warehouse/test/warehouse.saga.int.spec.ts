import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { OrderReply } from '../../orders/contract';
import { WarehouseCommand as C } from '../contract';
import { checkWarehouseInvariants } from '../invariants';
import { claimUnits, release, reserve, type Step } from '../allocation';
import { ConcurrencyError } from '../../../runtime/errors';
import { checkLogConsistency } from '../../../runtime/store/log-consistency';
import { countDeadLetters } from '../../../runtime/messaging/dead-letters';
import type { Tx } from '@tributary/runtime';
import { sku, startWarehouse, type WarehouseHarness } from './harness';

type Reply = { type: string; data: Record<string, unknown> };
const body = (r: Reply) => ({ type: r.type, data: r.data });

describe('warehouse saga steps (in-process runtime, CONTEXTS=warehouse)', function () {
  this.timeout(30_000);
  let h: WarehouseHarness;

  before(async () => {
    h = await startWarehouse('wh_saga');
  });
  afterEach(async function () {
    // Whatever a test did, the warehouse's invariants hold afterwards.
    if (!h || this.currentTest?.state !== 'passed') return;
    const { db } = h.runtime.services;
    expect(await checkWarehouseInvariants(db)).to.deep.equal([]);
    expect(await checkLogConsistency(db, h.runtime.plugins.flatMap((p) => p.aggregates ?? []))).to.deep.equal([]);
  });
  after(async () => {
    if (h) {
      const dead = await countDeadLetters(h.runtime.services.redis, h.runtime.services.topology);
      await h.stop();
      expect(dead, 'no saga command was dead-lettered').to.equal(0);
    }
  });

  const unitsOf = async (orderId: string) => {
    const res = await h.http.get(`/v1/orders/${orderId}/reservations`);
    expect(res.status).to.equal(200);
    return res.body._embedded.reservationList as { reservationId: string; status: string; inventoryIds: string[]; warehouseId: string | null; productId: string; quantity: number; reason: string | null }[];
  };
  const unit = async (id: string) => (await h.http.get(`/v1/inventory/${id}`)).body as { status: string; reservationId: string | null; version: number };

  describe('RESERVE_INVENTORY', () => {
    it('reserves every line in the one warehouse that has them all (units RESERVATION_CONNECTED)', async () => {
      const a = sku('A');
      const b = sku('B');
      const onlyA = await h.createWarehouse('only A');
      await h.stock(onlyA, a, 5);
      const both = await h.createWarehouse('A and B');
      await h.stock(both, a, 3);
      await h.stock(both, b, 2);

      const orderId = randomUUID();
      await h.send(C.RESERVE_INVENTORY, orderId, { orderId, lines: [{ productId: a, quantity: 2 }, { productId: b, quantity: 1 }] });
      const reply = await h.reply(orderId);
      expect(reply.type).to.equal(OrderReply.INVENTORY_RESERVED);
      expect(reply.actor).to.deep.equal({ type: 'order', id: orderId });
      expect(reply.correlationId).to.equal(orderId);
      expect(reply.data).to.include({ orderId, warehouseId: both });
      const reservationIds = reply.data.reservationIds as string[];
      expect(reservationIds).to.have.length(2);

      expect(await h.counts(both)).to.deep.equal({ [a]: { RESERVATION_PENDING: 1, RESERVATION_CONNECTED: 2 }, [b]: { RESERVATION_PENDING: 1, RESERVATION_CONNECTED: 1 } });
      expect(await h.counts(onlyA)).to.deep.equal({ [a]: { RESERVATION_PENDING: 5 } });

      const listed = await h.http.get(`/v1/orders/${orderId}/reservations`);
      expect(listed.body._links).to.deep.equal({ self: { href: `/v1/orders/${orderId}/reservations` }, order: { href: `/v1/orders/${orderId}` } });
      const reservations = await unitsOf(orderId);
      expect(reservations.map((r) => r.reservationId)).to.deep.equal(reservationIds);
      expect(reservations.map((r) => [r.productId, r.quantity, r.status, r.warehouseId])).to.deep.equal([
        [a, 2, 'RESERVATION_SUCCEEDED', both],
        [b, 1, 'RESERVATION_SUCCEEDED', both],
      ]);
      for (const r of reservations) {
        expect(r.inventoryIds).to.have.length(r.quantity);
        for (const id of r.inventoryIds) expect(await unit(id)).to.include({ status: 'RESERVATION_CONNECTED', reservationId: r.reservationId });
      }

      const one = await h.http.get(`/v1/reservations/${reservationIds[0]}`);
      expect(one.body._links.order.href).to.equal(`/v1/orders/${orderId}`);
      expect(one.body._links.warehouse.href).to.equal(`/v1/warehouses/${both}`);
      const log = await h.http.get(`/v1/reservations/${reservationIds[0]}/events`);
      expect(log.body._embedded.reservationEventList.map((e: { type: string }) => e.type)).to.deep.equal(['RESERVATION_CREATED', 'RESERVATION_SUCCEEDED']);
      const unitLog = await h.http.get(`/v1/inventory/${reservations[0].inventoryIds[0]}/events`);
      const connected = unitLog.body._embedded.inventoryEventList.map((e: { type: string; data: unknown }) => [e.type, e.data]);
      expect(connected).to.deep.equal([
        ['INVENTORY_CREATED', { warehouseId: both, productId: a }],
        ['RESERVATION_PENDING', {}],
        ['RESERVATION_CONNECTED', { reservationId: reservationIds[0] }],
      ]);
    });

    it('answers INVENTORY_UNAVAILABLE with the reason and claims nothing when no single warehouse has the stock', async () => {
      const a = sku('A');
      const b = sku('B');
      const w1 = await h.createWarehouse();
      await h.stock(w1, a, 3);
      const w2 = await h.createWarehouse();
      await h.stock(w2, b, 3);

      const orderId = randomUUID();
      await h.send(C.RESERVE_INVENTORY, orderId, { orderId, lines: [{ productId: a, quantity: 2 }, { productId: b, quantity: 1 }] });
      const reply = await h.reply(orderId);
      expect(body(reply)).to.deep.equal({ type: OrderReply.INVENTORY_UNAVAILABLE, data: { orderId, reason: `no warehouse has 2 × ${a} and 1 × ${b} available` } });
      expect(await h.counts(w1)).to.deep.equal({ [a]: { RESERVATION_PENDING: 3 } });
      expect(await h.counts(w2)).to.deep.equal({ [b]: { RESERVATION_PENDING: 3 } });
      const recorded = await unitsOf(orderId);
      expect(recorded.map((r) => [r.status, r.warehouseId, r.inventoryIds])).to.deep.equal([
        ['RESERVATION_FAILED', null, []],
        ['RESERVATION_FAILED', null, []],
      ]);
    });

    it('adds up lines of the same product', async () => {
      const a = sku('A');
      const w = await h.createWarehouse();
      await h.stock(w, a, 3);
      const orderId = randomUUID();
      await h.send(C.RESERVE_INVENTORY, orderId, { orderId, lines: [{ productId: a, quantity: 2 }, { productId: a, quantity: 2 }] });
      expect((await h.reply(orderId)).data.reason).to.equal(`no warehouse has 4 × ${a} available`);

      const ok = randomUUID();
      await h.send(C.RESERVE_INVENTORY, ok, { orderId: ok, lines: [{ productId: a, quantity: 1 }, { productId: a, quantity: 2 }] });
      expect((await h.reply(ok)).type).to.equal(OrderReply.INVENTORY_RESERVED);
      const [first, second] = await unitsOf(ok);
      expect(new Set([...first.inventoryIds, ...second.inventoryIds]).size, 'distinct units per line').to.equal(3);
      expect(await h.counts(w)).to.deep.equal({ [a]: { RESERVATION_CONNECTED: 3 } });
    });

    it('answers a re-sent command identically without claiming more', async () => {
      const a = sku('A');
      const w = await h.createWarehouse();
      await h.stock(w, a, 4);
      const orderId = randomUUID();
      const command = { orderId, lines: [{ productId: a, quantity: 2 }] };
      await h.send(C.RESERVE_INVENTORY, orderId, command);
      const first = await h.reply(orderId, 1);
      const events = await h.eventCount();
      await h.send(C.RESERVE_INVENTORY, orderId, command);
      const second = await h.reply(orderId, 2);
      expect(first.type).to.equal(OrderReply.INVENTORY_RESERVED);
      expect(body(second)).to.deep.equal(body(first));
      expect(second.id).to.not.equal(first.id);
      expect(await h.eventCount(), 'no event for the repeat').to.equal(events);
      expect(await h.counts(w)).to.deep.equal({ [a]: { RESERVATION_PENDING: 2, RESERVATION_CONNECTED: 2 } });
    });

    it('answers a re-sent out-of-stock command the same, even after stock arrived', async () => {
      const a = sku('A');
      const w = await h.createWarehouse();
      await h.stock(w, a, 1);
      const orderId = randomUUID();
      const command = { orderId, lines: [{ productId: a, quantity: 2 }] };
      await h.send(C.RESERVE_INVENTORY, orderId, command);
      const first = await h.reply(orderId, 1);
      await h.stock(w, a, 5);
      await h.send(C.RESERVE_INVENTORY, orderId, command);
      const second = await h.reply(orderId, 2);
      expect(first.type).to.equal(OrderReply.INVENTORY_UNAVAILABLE);
      expect(body(second)).to.deep.equal(body(first));
      expect(await h.counts(w)).to.deep.equal({ [a]: { RESERVATION_PENDING: 6 } });
    });

    it('answers a malformed command INVENTORY_UNAVAILABLE (an empty order) and records nothing', async () => {
      const orderId = randomUUID();
      const events = await h.eventCount();
      await h.send(C.RESERVE_INVENTORY, orderId, { orderId, lines: [] });
      expect(body(await h.reply(orderId))).to.deep.equal({
        type: OrderReply.INVENTORY_UNAVAILABLE,
        data: { orderId, reason: 'invalid RESERVE_INVENTORY: lines: the order has no lines to reserve' },
      });
      const zero = randomUUID();
      await h.send(C.RESERVE_INVENTORY, zero, { orderId: zero, lines: [{ productId: 'SKU-1', quantity: 0 }] });
      expect((await h.reply(zero)).data.reason).to.match(/lines\.0\.quantity: quantity must be at least 1/);
      expect(await h.eventCount()).to.equal(events);
    });
  });

  describe('RELEASE_INVENTORY', () => {
    it('returns the order’s units to available and fails its reservations; a re-sent release changes nothing', async () => {
      const a = sku('A');
      const w = await h.createWarehouse();
      await h.stock(w, a, 3);
      const orderId = randomUUID();
      await h.send(C.RESERVE_INVENTORY, orderId, { orderId, lines: [{ productId: a, quantity: 2 }] });
      expect((await h.reply(orderId, 1)).type).to.equal(OrderReply.INVENTORY_RESERVED);
      const [held] = await unitsOf(orderId);

      await h.send(C.RELEASE_INVENTORY, orderId, { orderId, reason: 'payment declined' });
      expect(body(await h.reply(orderId, 2))).to.deep.equal({ type: OrderReply.INVENTORY_RELEASED, data: { orderId } });
      expect(await h.counts(w)).to.deep.equal({ [a]: { RESERVATION_PENDING: 3 } });
      const [released] = await unitsOf(orderId);
      expect(released).to.include({ status: 'RESERVATION_FAILED', reason: 'payment declined' });
      for (const id of held.inventoryIds) {
        expect(await unit(id)).to.include({ status: 'RESERVATION_PENDING', reservationId: null, version: 4 });
        const log = await h.http.get(`/v1/inventory/${id}/events`);
        expect(log.body._embedded.inventoryEventList.map((e: { type: string }) => e.type).slice(-1)).to.deep.equal(['INVENTORY_RELEASED']);
      }

      const events = await h.eventCount();
      await h.send(C.RELEASE_INVENTORY, orderId, { orderId, reason: 'payment declined' });
      expect(body(await h.reply(orderId, 3))).to.deep.equal({ type: OrderReply.INVENTORY_RELEASED, data: { orderId } });
      expect(await h.eventCount()).to.equal(events);

      // A RESERVE re-sent after the release claims nothing and says why.
      await h.send(C.RESERVE_INVENTORY, orderId, { orderId, lines: [{ productId: a, quantity: 2 }] });
      expect(body(await h.reply(orderId, 4))).to.deep.equal({
        type: OrderReply.INVENTORY_UNAVAILABLE,
        data: { orderId, reason: "the order's reservations were released: payment declined" },
      });
      expect(await h.counts(w)).to.deep.equal({ [a]: { RESERVATION_PENDING: 3 } });
    });

    it('answers INVENTORY_RELEASED when there was nothing to release', async () => {
      const orderId = randomUUID();
      const events = await h.eventCount();
      await h.send(C.RELEASE_INVENTORY, orderId, { orderId, reason: 'deadline passed' });
      expect(body(await h.reply(orderId))).to.deep.equal({ type: OrderReply.INVENTORY_RELEASED, data: { orderId } });
      expect(await h.eventCount()).to.equal(events);
    });

    it('lets released units be reserved by the next order', async () => {
      const a = sku('A');
      const w = await h.createWarehouse();
      await h.stock(w, a, 1);
      const first = randomUUID();
      await h.send(C.RESERVE_INVENTORY, first, { orderId: first, lines: [{ productId: a, quantity: 1 }] });
      await h.reply(first);
      await h.send(C.RELEASE_INVENTORY, first, { orderId: first, reason: 'cancelled' });
      await h.reply(first, 2);
      const second = randomUUID();
      await h.send(C.RESERVE_INVENTORY, second, { orderId: second, lines: [{ productId: a, quantity: 1 }] });
      expect((await h.reply(second)).type).to.equal(OrderReply.INVENTORY_RESERVED);
      const [r1] = await unitsOf(first);
      const [r2] = await unitsOf(second);
      expect(r2.inventoryIds).to.deep.equal(r1.inventoryIds);
      expect(await unit(r2.inventoryIds[0])).to.include({ status: 'RESERVATION_CONNECTED', reservationId: r2.reservationId });

      // The first order's release, re-sent late, cannot free the unit the second order holds.
      await h.send(C.RELEASE_INVENTORY, first, { orderId: first, reason: 'cancelled' });
      await h.reply(first, 3);
      expect(await unit(r2.inventoryIds[0])).to.include({ status: 'RESERVATION_CONNECTED', reservationId: r2.reservationId });
    });
  });

  describe('COMMIT_INVENTORY', () => {
    it('marks the order’s units sold; a re-sent commit changes nothing; a later release keeps them sold', async () => {
      const a = sku('A');
      const w = await h.createWarehouse();
      await h.stock(w, a, 3);
      const orderId = randomUUID();
      await h.send(C.RESERVE_INVENTORY, orderId, { orderId, lines: [{ productId: a, quantity: 2 }] });
      await h.reply(orderId, 1);
      const [held] = await unitsOf(orderId);

      await h.send(C.COMMIT_INVENTORY, orderId, { orderId });
      const committed = await h.reply(orderId, 2);
      expect(committed.type).to.equal(OrderReply.INVENTORY_COMMITTED);
      expect(committed.data.orderId).to.equal(orderId);
      expect(committed.data.inventoryIds).to.have.members(held.inventoryIds);
      expect(await h.counts(w)).to.deep.equal({ [a]: { RESERVATION_PENDING: 1, INVENTORY_RESERVED: 2 } });
      for (const id of held.inventoryIds) expect(await unit(id)).to.include({ status: 'INVENTORY_RESERVED', reservationId: held.reservationId });

      const events = await h.eventCount();
      await h.send(C.COMMIT_INVENTORY, orderId, { orderId });
      expect(body(await h.reply(orderId, 3))).to.deep.equal(body(committed));
      expect(await h.eventCount()).to.equal(events);

      await h.send(C.RELEASE_INVENTORY, orderId, { orderId, reason: 'too late' });
      const release = await h.reply(orderId, 4);
      expect(release.type).to.equal(OrderReply.INVENTORY_RELEASED);
      expect(release.data.notReleased).to.have.members(held.inventoryIds);
      expect(await h.eventCount()).to.equal(events);
      expect(await h.counts(w)).to.deep.equal({ [a]: { RESERVATION_PENDING: 1, INVENTORY_RESERVED: 2 } });
    });
  });

  describe('claimUnits', () => {
    it('claims every available unit whatever its random starting id: it wraps around to the ids below the start', async () => {
      const a = sku('WRAP');
      const w = await h.createWarehouse();
      const stocked = await h.stock(w, a, 6);
      // Each try starts at a random id; claiming all 6 needs the ids above it and below it.
      for (let i = 0; i < 12; i++) {
        const claimed = await h.runtime.services.db
          .transaction(async (tx) => {
            const ids = await claimUnits(tx, w, a, 6);
            throw Object.assign(new Error('roll back'), { ids });
          })
          .catch((err: { ids?: string[] }) => err.ids);
        expect(claimed, `try ${i + 1}`).to.have.members(stocked);
      }
      expect(await h.counts(w)).to.deep.equal({ [a]: { RESERVATION_PENDING: 6 } });
    });
  });

  describe('concurrency', () => {
    it('40 orders for one unit each against 15 units: exactly 15 reserved, 25 unavailable, no unit claimed twice', async function () {
      this.timeout(60_000);
      const a = sku('HOT');
      const w = await h.createWarehouse();
      const stocked = await h.stock(w, a, 15);
      const orders = Array.from({ length: 40 }, () => randomUUID());
      const consumer = h.runtime.consumers.find((c) => c.group === 'warehouse.saga')!;
      const splitBefore = consumer.batchesSplit;
      await Promise.all(orders.map((orderId) => h.send(C.RESERVE_INVENTORY, orderId, { orderId, lines: [{ productId: a, quantity: 1 }] })));
      const replies = await Promise.all(orders.map((orderId) => h.reply(orderId)));

      const reserved = replies.filter((r) => r.type === OrderReply.INVENTORY_RESERVED);
      const unavailable = replies.filter((r) => r.type === OrderReply.INVENTORY_UNAVAILABLE);
      expect(reserved).to.have.length(15);
      expect(unavailable).to.have.length(25);
      for (const r of unavailable) expect(r.data.reason).to.equal(`no warehouse has 1 × ${a} available`);

      const held = (await Promise.all(orders.map(unitsOf))).flat().flatMap((r) => r.inventoryIds);
      expect(held).to.have.length(15);
      expect(new Set(held).size, 'no unit claimed twice').to.equal(15);
      expect(held).to.have.members(stocked);
      expect(await h.counts(w)).to.deep.equal({ [a]: { RESERVATION_CONNECTED: 15 } });
      for (const orderId of orders) expect(await h.replies(orderId), 'one reply per order').to.have.length(1);
      // Several orders of a partition share a batch: none of them made it fail and start over
      // one message at a time (a claim that took a unit an earlier message of the batch had
      // claimed, unflushed, would).
      expect(consumer.batchesSplit - splitBefore, 'batches split').to.equal(0);
    });
  });

  describe('one transaction for many orders (a consumer batch)', () => {
    const stepIn = (tx: Tx, orderId: string): Step => ({ tx, services: h.runtime.services, log: h.runtime.services.log, causation: { correlationId: orderId, causationId: randomUUID() } });

    it('reserves one unit each for 5 orders against 3 units: 3 distinct units, 2 unavailable', async () => {
      const a = sku('BATCH');
      const w = await h.createWarehouse();
      const stocked = await h.stock(w, a, 3);
      const orders = Array.from({ length: 5 }, () => randomUUID());
      // Optimistic as in a consumer: cached actors are not read again.
      const outcomes = await h.runtime.services.db.transaction(async (tx) => {
        const out = [];
        // The earlier orders' units are claimed but not flushed when the later ones claim.
        for (const orderId of orders) out.push(await reserve(stepIn(tx, orderId), orderId, [{ productId: a, quantity: 1 }]));
        return out;
      }, { optimistic: true });
      expect(outcomes.map((o) => o.kind)).to.deep.equal(['reserved', 'reserved', 'reserved', 'unavailable', 'unavailable']);
      const held = (await Promise.all(orders.map(unitsOf))).flat().flatMap((r) => r.inventoryIds);
      expect(held).to.have.members(stocked);
      expect(await h.counts(w)).to.deep.equal({ [a]: { RESERVATION_CONNECTED: 3 } });
    });

    it('a later order gets the units an earlier one released in the same transaction', async () => {
      const a = sku('REUSE');
      const w = await h.createWarehouse();
      await h.stock(w, a, 1);
      const [first, second] = [randomUUID(), randomUUID()];
      const { db } = h.runtime.services;
      expect((await db.transaction((tx) => reserve(stepIn(tx, first), first, [{ productId: a, quantity: 1 }]))).kind).to.equal('reserved');
      // Optimistic as in a consumer: the release's writes stay buffered.
      const outcome = await db.transaction(async (tx) => {
        await release(stepIn(tx, first), first, 'cancelled');
        return reserve(stepIn(tx, second), second, [{ productId: a, quantity: 1 }]);
      }, { optimistic: true });
      expect(outcome.kind).to.equal('reserved');
      expect(await h.counts(w)).to.deep.equal({ [a]: { RESERVATION_CONNECTED: 1 } });
    });
  });

  describe('two deliveries of one RESERVE_INVENTORY handled at once (a partition changing owner)', () => {
    it('claim units once: the second fails its version check, and retried answers the same', async () => {
      const a = sku('A');
      const w = await h.createWarehouse();
      await h.stock(w, a, 4);
      const { db } = h.runtime.services;
      const orderId = randomUUID();
      const lines = [{ productId: a, quantity: 2 }];
      const step = (tx: Tx): Step => ({ tx, services: h.runtime.services, log: h.runtime.services.log, causation: { correlationId: orderId, causationId: randomUUID() } });

      const both = await Promise.allSettled([db.transaction((tx) => reserve(step(tx), orderId, lines)), db.transaction((tx) => reserve(step(tx), orderId, lines))]);
      const won = both.filter((r) => r.status === 'fulfilled');
      const lost = both.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).to.have.length(1);
      expect(lost).to.have.length(1);
      expect(lost[0].reason).to.be.instanceOf(ConcurrencyError);
      expect(await h.counts(w)).to.deep.equal({ [a]: { RESERVATION_PENDING: 2, RESERVATION_CONNECTED: 2 } });

      const retried = await db.transaction((tx) => reserve(step(tx), orderId, lines));
      expect(retried).to.deep.equal((won[0] as PromiseFulfilledResult<unknown>).value);
      expect(await h.counts(w)).to.deep.equal({ [a]: { RESERVATION_PENDING: 2, RESERVATION_CONNECTED: 2 } });
    });
  });

  describe('invariant checker', () => {
    it('reports a unit held by two reservations, broken conservation and a row that disagrees with its events', async () => {
      const a = sku('A');
      const w = await h.createWarehouse();
      await h.stock(w, a, 2);
      const o1 = randomUUID();
      const o2 = randomUUID();
      await h.send(C.RESERVE_INVENTORY, o1, { orderId: o1, lines: [{ productId: a, quantity: 1 }] });
      await h.send(C.RESERVE_INVENTORY, o2, { orderId: o2, lines: [{ productId: a, quantity: 1 }] });
      await h.reply(o1);
      await h.reply(o2);
      const [r1] = await unitsOf(o1);
      const [r2] = await unitsOf(o2);
      const { db } = h.runtime.services;
      expect(await checkWarehouseInvariants(db)).to.deep.equal([]);

      // Corrupt the read model inside a transaction that is rolled back afterwards.
      const found = await db
        .transaction(async (tx) => {
          await tx.raw('UPDATE reservations SET inventory_ids = ? WHERE reservation_id = ?', [r1.inventoryIds, r2.reservationId]);
          await tx.raw(`UPDATE inventory SET status = 'RESERVATION_PENDING', reservation_id = NULL WHERE inventory_id = ?`, [r2.inventoryIds[0]]);
          const violations = await checkWarehouseInvariants(tx);
          throw Object.assign(new Error('rollback'), { violations });
        })
        .catch((err: { violations?: string[] }) => err.violations ?? []);
      const text = found.join('\n');
      expect(text).to.include(`unit ${r1.inventoryIds[0]} is held by 2 reservations`);
      expect(text).to.include(`${a}: 0 reserved + 0 sold units`.replace('0 reserved', '1 reserved'));
      expect(text).to.match(new RegExp(`inventory ${r2.inventoryIds[0]} is RESERVATION_PENDING v3 in inventory, but its events lead to RESERVATION_CONNECTED v3`));
      expect(await checkWarehouseInvariants(db)).to.deep.equal([]);
    });
  });
});
