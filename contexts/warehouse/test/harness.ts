import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Envelope } from '@tributary/runtime';
import type { Runtime } from '../../../runtime/roles';
import { eventually, messagesTo, startTestRuntime, type TestEnv } from '../../../test/support/runtime';
import { client, type Client } from '../../../test/support/e2e-http';
import { ORDER, ORDERS_COMMANDS_TOPIC } from '../../orders/contract';
import { WAREHOUSE_COMMANDS_TOPIC, type WarehouseCommand } from '../contract';

/** An in-process runtime with only the warehouse context, and what its tests need around it. */
export interface WarehouseHarness {
  runtime: Runtime & { env: TestEnv };
  http: Client;
  /** Sends a saga command the way the order saga does: through the outbox, in a transaction. */
  send(type: WarehouseCommand, orderId: string, data: Record<string, unknown>): Promise<string>;
  /** Every reply on `orders.commands` for an order, oldest first. */
  replies(orderId: string): Promise<Envelope<Record<string, unknown>>[]>;
  /** Waits for the order's n-th reply and returns it. */
  reply(orderId: string, n?: number): Promise<Envelope<Record<string, unknown>>>;
  createWarehouse(name?: string): Promise<string>;
  /** Stocks units over HTTP and waits until the worker has made them available. */
  stock(warehouseId: string, productId: string, quantity: number): Promise<string[]>;
  counts(warehouseId: string): Promise<Record<string, Record<string, number>>>;
  eventCount(): Promise<number>;
  stop(): Promise<void>;
}

export const address = { street1: '1 Dock Rd', city: 'Oakland', state: 'CA', country: 'US', zipCode: '94607' };

export async function startWarehouse(label: string, overrides: Record<string, string> = {}): Promise<WarehouseHarness> {
  const runtime = await startTestRuntime(label, { CONTEXTS: 'warehouse', ...overrides });
  const { db, actors } = runtime.services;
  const http = client(runtime.url!);

  const replies = (orderId: string) => messagesTo(runtime, ORDERS_COMMANDS_TOPIC, orderId);

  const counts = async (warehouseId: string) => {
    const res = await http.get(`/v1/warehouses/${warehouseId}/inventory?size=1`);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return res.body.counts as Record<string, Record<string, number>>;
  };

  return {
    runtime,
    http,
    async send(type, orderId, data) {
      const messageId = randomUUID();
      await db.transaction((tx) =>
        actors.send(tx, [{ topic: WAREHOUSE_COMMANDS_TOPIC, type, actor: { type: ORDER, id: orderId }, data }], { correlationId: orderId, causationId: messageId }),
      );
      return messageId;
    },
    replies,
    async reply(orderId, n = 1) {
      const all = await eventually(async () => {
        const r = await replies(orderId);
        return r.length >= n && r;
      });
      return all[n - 1];
    },
    async createWarehouse(name) {
      const res = await http.post('/v1/warehouses', { name, address });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      return res.body.warehouseId as string;
    },
    async stock(warehouseId, productId, quantity) {
      const before = (await counts(warehouseId))[productId]?.RESERVATION_PENDING ?? 0;
      const res = await http.post(`/v1/warehouses/${warehouseId}/inventory`, { productId, quantity });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      await eventually(async () => ((await counts(warehouseId))[productId]?.RESERVATION_PENDING ?? 0) === before + quantity);
      return res.body.inventoryIds as string[];
    },
    counts,
    async eventCount() {
      const { rows } = await db.raw<{ rows: { n: string }[] }>('SELECT count(*) AS n FROM events');
      return Number(rows[0].n);
    },
    stop: () => runtime.stop(),
  };
}

/** A product id no other test uses, so tests on one runtime never compete for stock. */
export const sku = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;
