/** Builders for the order saga's end-to-end tests: an active account, a stocked warehouse, orders. */
import { expect } from 'chai';
import { eventually } from './runtime';
import { newProfile, type Client } from './e2e-http';

export const ADDRESS = { street1: '1 Main St', city: 'Springfield', state: 'OR', country: 'US', zipCode: '97477' };

export async function activeAccount(api: Client): Promise<string> {
  const created = await api.post('/v1/accounts', newProfile());
  expect(created.status, JSON.stringify(created.body)).to.equal(201);
  const id = created.body.accountId as string;
  await eventually(async () => (await api.get(`/v1/accounts/${id}`)).body.status === 'ACCOUNT_ACTIVE', 20_000);
  return id;
}

/** A warehouse with `stock` available units per product. */
export async function stockedWarehouse(api: Client, stock: Record<string, number>): Promise<string> {
  const w = await api.post('/v1/warehouses', { name: 'Main', address: ADDRESS });
  expect(w.status, JSON.stringify(w.body)).to.equal(201);
  const id = w.body.warehouseId as string;
  for (const [productId, quantity] of Object.entries(stock)) {
    const r = await api.post(`/v1/warehouses/${id}/inventory`, { productId, quantity });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
  }
  await eventually(async () => {
    const counts = (await api.get(`/v1/warehouses/${id}/inventory`)).body.counts as Record<string, Record<string, number>>;
    return Object.entries(stock).every(([p, q]) => (counts[p]?.RESERVATION_PENDING ?? 0) >= q);
  }, 20_000);
  return id;
}

export function line(productId: string, quantity: number, price = 10, tax = 0.5) {
  return { productId, name: `Product ${productId}`, quantity, price, tax };
}

/** Waits until the order is terminal and returns it. */
export async function settledOrder(api: Client, orderId: string, timeoutMs = 30_000) {
  return eventually(async () => {
    const o = (await api.get(`/v1/orders/${orderId}`)).body;
    return o.status === 'ORDER_SUCCEEDED' || o.status === 'ORDER_FAILED' ? o : undefined;
  }, timeoutMs, 100);
}

export async function eventTypes(api: Client, path: string, list: string): Promise<string[]> {
  const r = await api.get(`${path}/events`);
  return (r.body._embedded[list] as { type: string }[]).map((e) => e.type);
}
