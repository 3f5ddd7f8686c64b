/**
 * A client of the API written only against the types generated from the API document
 * (`api.d.ts`, by openapi-typescript) through openapi-fetch: no hand-written request or
 * response type. test/e2e/openapi-client.e2e.spec.ts typechecks it against types generated
 * from a running server's document and drives an order through it.
 */
import createClient from 'openapi-fetch';
import type { components, paths } from './api';

export type Api = ReturnType<typeof createApi>;
type Order = components['schemas']['Order'];

export function createApi(baseUrl: string) {
  return createClient<paths>({ baseUrl, headers: { accept: 'application/hal+json, application/problem+json' } });
}

/** Fails with the problem document the API answered. */
function expectData<T>(what: string, r: { data?: T; error?: unknown; response: Response }): T {
  if (r.data === undefined) throw new Error(`${what}: ${r.response.status} ${JSON.stringify(r.error)}`);
  return r.data;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Registers an account and waits until the worker has made it ACCOUNT_ACTIVE. */
export async function activeAccount(api: Api, email: string): Promise<string> {
  const created = expectData('register', await api.POST('/v1/accounts', { body: { firstName: 'Grace', lastName: 'Hopper', email } }));
  const id = created.accountId;
  await until('ACCOUNT_ACTIVE', 20_000, async () => {
    const account = expectData('get account', await api.GET('/v1/accounts/{id}', { params: { path: { id } } }));
    return account.status === 'ACCOUNT_ACTIVE' ? account : undefined;
  });
  return id;
}

/** A warehouse with `quantity` units of `productId`. */
export async function stockedWarehouse(api: Api, productId: string, quantity: number): Promise<string> {
  const warehouse = expectData(
    'create warehouse',
    await api.POST('/v1/warehouses', { body: { name: 'Generated-client depot', address: { street1: '1 Main St', city: 'Springfield', state: 'OR', country: 'US', zipCode: '97477' } } }),
  );
  const units = expectData(
    'add inventory',
    await api.POST('/v1/warehouses/{id}/inventory', { params: { path: { id: warehouse.warehouseId } }, body: { productId, quantity } }),
  );
  if (units.inventoryIds.length !== quantity) throw new Error(`asked for ${quantity} units, got ${units.inventoryIds.length}`);
  return warehouse.warehouseId;
}

/** Places an order for one line and follows it until the saga settles it. */
export async function placeAndFollow(api: Api, accountId: string, productId: string, quantity: number): Promise<Order> {
  const placed = expectData(
    'place order',
    await api.POST('/v1/orders', {
      body: {
        accountId,
        lineItems: [{ productId, name: 'Widget', quantity, price: 12.5, tax: 1 }],
        shippingAddress: { street1: '2 Side St', city: 'Portland', state: 'OR', country: 'US', zipCode: '97201' },
      },
    }),
  );
  const id = placed.orderId;
  return until('a settled order', 30_000, async () => {
    const order = expectData('get order', await api.GET('/v1/orders/{id}', { params: { path: { id } } }));
    return order.status === 'ORDER_SUCCEEDED' || order.status === 'ORDER_FAILED' ? order : undefined;
  });
}

/** The order's reservations, through the link the order resource gives. */
export async function reservationsOf(api: Api, order: Order) {
  const list = expectData('reservations', await api.GET('/v1/orders/{id}/reservations', { params: { path: { id: order.orderId } } }));
  return list._embedded.reservationList;
}
