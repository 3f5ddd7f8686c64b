import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { expectProblem } from '../../../test/support/e2e-http';
import { eventually } from '../../../test/support/runtime';
import { address, sku, startWarehouse, type WarehouseHarness } from './harness';

describe('warehouse HTTP API (in-process runtime, CONTEXTS=warehouse)', function () {
  this.timeout(30_000);
  let h: WarehouseHarness;

  before(async () => {
    h = await startWarehouse('wh_http');
  });
  after(async () => {
    await h?.stop();
  });

  describe('POST /v1/warehouses', () => {
    it('creates a warehouse with WAREHOUSE_CREATED and the seed’s links', async () => {
      const res = await h.http.post('/v1/warehouses', { name: 'Main', address });
      expect(res.status).to.equal(201);
      expect(res.contentType).to.match(/^application\/hal\+json/);
      const id = res.body.warehouseId;
      expect(id).to.match(/^[0-9a-f-]{36}$/);
      expect(res.headers.get('location')).to.equal(`/v1/warehouses/${id}`);
      expect(res.body).to.include({ name: 'Main', status: 'WAREHOUSE_CREATED', version: 1 });
      expect(res.body.address).to.deep.equal(address);
      expect(res.body._links).to.deep.equal({
        self: { href: `/v1/warehouses/${id}` },
        events: { href: `/v1/warehouses/${id}/events` },
        commands: { href: `/v1/warehouses/${id}/commands` },
        inventory: { href: `/v1/warehouses/${id}/inventory` },
      });

      const events = await h.http.get(`/v1/warehouses/${id}/events`);
      expect(events.body._embedded.warehouseEventList.map((e: { type: string }) => e.type)).to.deep.equal(['WAREHOUSE_CREATED']);
      const commands = await h.http.get(`/v1/warehouses/${id}/commands`);
      expect(commands.status).to.equal(200);
      expect(commands.body.status).to.equal('WAREHOUSE_CREATED');
    });

    it('lists warehouses (paged) and shows one, 404 for an unknown id', async () => {
      const id = await h.createWarehouse('Listed');
      const list = await h.http.get('/v1/warehouses?size=200');
      expect(list.status).to.equal(200);
      expect(list.body._embedded.warehouseList.map((w: { warehouseId: string }) => w.warehouseId)).to.include(id);
      expect(list.body.page).to.include({ number: 0, size: 200 });

      const one = await h.http.get(`/v1/warehouses/${id}`);
      expect(one.status).to.equal(200);
      expect(one.body).to.include({ warehouseId: id, name: 'Listed' });

      expectProblem(await h.http.get(`/v1/warehouses/${randomUUID()}`), 404, /No warehouse with id/);
      expectProblem(await h.http.get('/v1/warehouses/not-a-uuid'), 404);
    });

    it('rejects bad input with 400 and writes nothing', async () => {
      const before = await h.eventCount();
      expectProblem(await h.http.post('/v1/warehouses', {}), 400, 'address: address is required');
      expectProblem(await h.http.post('/v1/warehouses', { address: { ...address, zipCode: '' } }), 400, /address\.zipCode: zipCode is required/);
      expectProblem(await h.http.post('/v1/warehouses', { address, status: 'WAREHOUSE_CREATED' }), 400, /status/);
      expectProblem(await h.http.post('/v1/warehouses', [address]), 400, 'The body must be a JSON object');
      expectProblem(await h.http.post('/v1/warehouses'), 400);
      expectProblem(await h.http.post('/v1/warehouses', '{"address":', { contentType: 'application/json' }), 400, /Malformed JSON/);
      expect(await h.eventCount()).to.equal(before);
    });
  });

  describe('inventory', () => {
    it('creates that many units in one request; the worker makes each available', async () => {
      const w = await h.createWarehouse();
      const product = sku('SKU-H');
      const res = await h.http.post(`/v1/warehouses/${w}/inventory`, { productId: product, quantity: 3 });
      expect(res.status).to.equal(201);
      expect(res.body).to.include({ warehouseId: w, productId: product, quantity: 3 });
      expect(res.body.inventoryIds).to.have.length(3);
      expect(res.body._links.warehouse.href).to.equal(`/v1/warehouses/${w}`);
      const units = res.body._embedded.inventoryList;
      expect(units.map((u: { inventoryId: string }) => u.inventoryId)).to.have.members(res.body.inventoryIds);
      for (const u of units) {
        expect(u).to.include({ warehouseId: w, productId: product, reservationId: null });
        expect(u._links.self.href).to.equal(`/v1/inventory/${u.inventoryId}`);
        expect(u._links.warehouse.href).to.equal(`/v1/warehouses/${w}`);
      }

      await eventually(async () => (await h.counts(w))[product]?.RESERVATION_PENDING === 3);
      const unit = res.body.inventoryIds[0];
      const one = await h.http.get(`/v1/inventory/${unit}`);
      expect(one.status).to.equal(200);
      expect(one.body).to.include({ inventoryId: unit, status: 'RESERVATION_PENDING', version: 2 });
      const log = await h.http.get(`/v1/inventory/${unit}/events`);
      expect(log.body._embedded.inventoryEventList.map((e: { type: string }) => e.type)).to.deep.equal(['INVENTORY_CREATED', 'RESERVATION_PENDING']);
      const commands = await h.http.get(`/v1/inventory/${unit}/commands`);
      expect(commands.body).to.include({ status: 'RESERVATION_PENDING', version: 2 });
      expect(Object.keys(commands.body._links)).to.have.members(['self', 'inventory']);
    });

    it('defaults to one unit, lists units paged and counts them per product and status', async () => {
      const w = await h.createWarehouse();
      const a = sku('SKU-A');
      const b = sku('SKU-B');
      expect((await h.http.post(`/v1/warehouses/${w}/inventory`, { productId: a })).body.inventoryIds).to.have.length(1);
      await h.stock(w, b, 4);
      const page = await h.http.get(`/v1/warehouses/${w}/inventory?page=1&size=2`);
      expect(page.status).to.equal(200);
      expect(page.body.page).to.deep.equal({ number: 1, size: 2, totalElements: 5, totalPages: 3 });
      expect(page.body._embedded.inventoryList).to.have.length(2);
      expect(page.body._links.warehouse.href).to.equal(`/v1/warehouses/${w}`);
      expect(page.body._links.next.href).to.equal(`/v1/warehouses/${w}/inventory?page=2&size=2`);
      await eventually(async () => (await h.counts(w))[a]?.RESERVATION_PENDING === 1);
      expect(await h.counts(w)).to.deep.equal({ [a]: { RESERVATION_PENDING: 1 }, [b]: { RESERVATION_PENDING: 4 } });
    });

    it('answers 404 for an unknown warehouse, unit or reservation', async () => {
      expectProblem(await h.http.post(`/v1/warehouses/${randomUUID()}/inventory`, { productId: 'SKU-1' }), 404, /No warehouse with id/);
      expectProblem(await h.http.get(`/v1/warehouses/${randomUUID()}/inventory`), 404);
      expectProblem(await h.http.get(`/v1/inventory/${randomUUID()}`), 404, /No inventory with id/);
      expectProblem(await h.http.get(`/v1/reservations/${randomUUID()}`), 404, /No reservation with id/);
      expectProblem(await h.http.get(`/v1/reservations/${randomUUID()}/events`), 404);
    });

    it('rejects a bad productId or quantity with 400 and writes nothing', async () => {
      const w = await h.createWarehouse();
      const before = await h.eventCount();
      const post = (body: unknown) => h.http.post(`/v1/warehouses/${w}/inventory`, body);
      expectProblem(await post({}), 400, 'productId: productId is required');
      expectProblem(await post({ productId: '   ' }), 400, 'productId: productId is required');
      expectProblem(await post({ productId: 7 }), 400, 'productId: productId must be a string');
      expectProblem(await post({ productId: 'x'.repeat(101) }), 400, /at most 100 characters/);
      expectProblem(await post({ productId: 'SKU-1', quantity: 0 }), 400, 'quantity: quantity must be at least 1');
      expectProblem(await post({ productId: 'SKU-1', quantity: -2 }), 400, 'quantity: quantity must be at least 1');
      expectProblem(await post({ productId: 'SKU-1', quantity: 1001 }), 400, 'quantity: quantity must be at most 1000');
      expectProblem(await post({ productId: 'SKU-1', quantity: 1.5 }), 400, 'quantity: quantity must be a whole number');
      expectProblem(await post({ productId: 'SKU-1', quantity: '3' }), 400, 'quantity: quantity must be a number');
      expectProblem(await post({ productId: 'SKU-1', status: 'INVENTORY_RESERVED' }), 400, /status/);
      expectProblem(await post(undefined), 400);
      expectProblem(await h.http.post(`/v1/warehouses/${w}/inventory`, 'productId=SKU-1', { contentType: 'text/plain' }), 415);
      expect(await h.eventCount()).to.equal(before);
      expect(await h.counts(w)).to.deep.equal({});
    });
  });
});
