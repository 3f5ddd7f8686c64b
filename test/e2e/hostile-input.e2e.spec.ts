/**
 * Every hostile input of issue 12 gets its exact 4xx as problem+json and writes nothing (every
 * table's rows and every stream's entries counted before and after, in Postgres and Redis
 * directly): strings with NUL or lone surrogates, prototype-named commands, out-of-range
 * dead-letter ids, repeated query parameters, TRACE, malformed If-Match, money with more than
 * 2 decimals or under 0.01, orders past their size limits, product ids past the shared limit.
 * Then the quotas: orders in flight per account, and requests per client (429 + Retry-After).
 *
 * Requests go out raw (fetch, no API-document check): some of these bodies are ones the
 * document cannot refuse (2 decimals is not expressible in JSON Schema without float noise).
 */
import { expect } from 'chai';
import http from 'node:http';
import { type TestEnv } from '../support/runtime';
import { freshDeployment, killStartedProcesses, startServer, type ServerProcess } from '../support/e2e-process';
import { client, newProfile } from '../support/e2e-http';
import { ADDRESS, activeAccount, stockedWarehouse } from '../support/e2e-shop';
import { quietSnapshot, snapshotDiff, writeSnapshot, type WriteSnapshot } from '../support/e2e-writes';

interface Raw {
  status: number;
  headers: Headers;
  body: any;
}

/** One request as a hostile client sends it: any method, any body text, any header. */
async function raw(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Raw> {
  const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { accept: 'application/hal+json, application/problem+json', ...(text !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: text,
    signal: AbortSignal.timeout(10_000),
  });
  const type = res.headers.get('content-type') ?? '';
  const content = await res.text();
  return { status: res.status, headers: res.headers, body: /json/.test(type) && content ? JSON.parse(content) : content };
}

/** A method fetch refuses to send (TRACE, TRACK), through node:http. */
function rawMethod(base: string, method: string, path: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
        resolve({ status: res.statusCode ?? 0, headers, body: /json/.test(res.headers['content-type'] ?? '') && text ? JSON.parse(text) : text });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function expectProblem(r: Raw, status: number, detail?: RegExp): void {
  expect(r.status, JSON.stringify(r.body)).to.equal(status);
  expect(r.headers.get('content-type')).to.match(/^application\/problem\+json/);
  expect(r.body).to.include({ status });
  expect(r.body.detail).to.be.a('string');
  if (detail) expect(r.body.detail).to.match(detail);
}

const line = (over: Record<string, unknown> = {}) => ({ productId: 'SKU-H', name: 'Hostile', quantity: 1, price: 10, tax: 0.5, ...over });
const order = (lines: unknown[]) => ({ lineItems: lines, shippingAddress: ADDRESS });

describe('hostile input end to end: exact 4xx, nothing written', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let server: ServerProcess;
  let accountId = '';
  let warehouseId = '';
  let deadLetterCount = 0;
  let baseline: WriteSnapshot;

  before(async function () {
    this.timeout(120_000);
    env = await freshDeployment('e2e_hostile');
    server = await startServer(env, {
      CONTEXTS: 'all',
      ROLE: 'all',
      ORDER_MAX_TOTAL: '1000',
      ORDER_MAX_UNITS: '50',
      ORDERS_IN_FLIGHT_PER_ACCOUNT: '2',
      ORDER_UNITS_IN_FLIGHT_PER_ACCOUNT: '30',
      // Prices ending in .02 are never answered by the simulated gateway: such orders stay in flight.
      PAYMENT_GATEWAY_TIMEOUT_MS: '120000',
      TIMER_POLL_MS: '100',
      ORDER_STEP_TIMEOUT_MS: '120000',
    });
    const api = client(server.url);
    accountId = await activeAccount(api);
    warehouseId = await stockedWarehouse(api, { 'SKU-H': 60 });
    deadLetterCount = (await api.get('/v1/ops/dead-letters')).body.count;
    baseline = await quietSnapshot(env);
  });

  after(killStartedProcesses);

  const account = () => `/v1/accounts/${accountId}`;
  const post = (path: string, body?: unknown, headers?: Record<string, string>) => raw(server.url, 'POST', path, body, headers);
  const get = (path: string) => raw(server.url, 'GET', path);

  const cases: [string, () => Promise<Raw>, number, RegExp?][] = [
    // Strings Postgres cannot store: 400 at the door, never a driver error.
    ['a NUL in a new account', () => post('/v1/accounts', { ...newProfile(), firstName: 'A\u0000B' }), 400, /NUL character .* at firstName/],
    ['a lone surrogate in a new account', () => post('/v1/accounts', `{"firstName":"A\\ud800B","lastName":"L","email":"lone@example.com"}`), 400, /lone UTF-16 surrogate at firstName/],
    ['a lone low surrogate in a profile update', () => raw(server.url, 'PUT', account(), `{"firstName":"\\udc00","lastName":"L","email":"lone2@example.com"}`), 400, /lone UTF-16 surrogate/],
    ['a NUL in an order line', () => post(`${account()}/commands/postOrder`, order([line({ name: 'x\u0000' })])), 400, /NUL character .* at lineItems\[0\]\.name/],
    ['a NUL in a key', () => post('/v1/accounts', `{"first\\u0000Name":"A","lastName":"L","email":"k@example.com"}`), 400, /key .* NUL/],
    ['a NUL in a warehouse name', () => post('/v1/warehouses', { name: '\u0000', address: ADDRESS }), 400, /NUL/],
    ['a NUL in a query parameter', () => get('/v1/accounts?status=%00'), 400, /query parameter "status" holds a NUL/],
    ['a NUL in a path parameter', () => get('/v1/accounts/%00'), 400, /path holds a NUL/],
    ['malformed percent-encoding in the path', () => get('/v1/accounts/%E0%A4%A'), 400, /malformed percent-encoding/],
    ['a __proto__ key', () => post('/v1/accounts', `{"__proto__":{"admin":true},"firstName":"A","lastName":"L","email":"p@example.com"}`), 400, /__proto__/],
    ['JSON nested 40 deep', () => post('/v1/accounts', '['.repeat(40) + ']'.repeat(40)), 400, /nested deeper than 32/],
    // Commands named after Object.prototype members.
    ...['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty'].map(
      (name): [string, () => Promise<Raw>, number, RegExp?] => [`the command ${name}`, () => post(`${account()}/commands/${name}`), 404],
    ),
    // Dead-letter ids of the right shape but out of the u64 range, and of no shape at all.
    ['a re-drive id past 2^64-1', () => post('/v1/ops/dead-letters/99999999999999999999999-0/redrive'), 404, /No dead letter/],
    ['a re-drive id with a sequence past 2^64-1', () => post('/v1/ops/dead-letters/1-18446744073709551616/redrive'), 404, /No dead letter/],
    ['a re-drive id that is no id', () => post('/v1/ops/dead-letters/abc/redrive'), 404, /No dead letter/],
    // Repeated query parameters: never one of them silently, never none.
    ['a repeated accountId filter', () => get(`/v1/orders?accountId=${accountId}&accountId=${accountId}`), 400, /"accountId" is repeated/],
    ['a repeated page', () => get('/v1/accounts?page=0&page=1'), 400, /"page" is repeated/],
    // Probing methods.
    ['TRACE', () => rawMethod(server.url, 'TRACE', '/v1'), 405, /TRACE is not allowed/],
    ['TRACE on a resource', () => rawMethod(server.url, 'TRACE', account()), 405, /TRACE is not allowed/],
    ['PROPFIND', () => rawMethod(server.url, 'PROPFIND', '/v1/accounts'), 405, /PROPFIND is not allowed/],
    // Malformed If-Match.
    ...['abc', '"1', '"1.5"', '"-1"', 'W/"x"', '*', '"99999999999999999999999"', '1e3'].map((v): [string, () => Promise<Raw>, number, RegExp?] => [
      `If-Match ${v}`, () => post(`${account()}/commands/suspend`, undefined, { 'if-match': v }), 400, /If-Match/,
    ]),
    // Money: exactly 2 decimals, no tolerance; a price of at least 0.01.
    ['a price of 0.000000001', () => post(`${account()}/commands/postOrder`, order([line({ price: 0.000000001 })])), 400, /price must be at least 0\.01/],
    ['a price of 0', () => post(`${account()}/commands/postOrder`, order([line({ price: 0 })])), 400, /price must be at least 0\.01/],
    ['a price of 0.1 + 0.2', () => post(`${account()}/commands/postOrder`, order([line({ price: 0.1 + 0.2 })])), 400, /price must have at most 2 decimals/],
    ['a price of 10.001', () => post('/v1/orders', { accountId, ...order([line({ price: 10.001 })]) }), 400, /price must have at most 2 decimals/],
    ['a tax of 0.005', () => post(`${account()}/commands/postOrder`, order([line({ tax: 0.005 })])), 400, /tax must have at most 2 decimals/],
    ['a price string with 3 decimals', () => post(`${account()}/commands/postOrder`, order([line({ price: '1.005' })])), 400, /price/],
    ['a price in exponent notation', () => post(`${account()}/commands/postOrder`, order([line({ price: '1e3' })])), 400, /price/],
    ['a negative tax', () => post(`${account()}/commands/postOrder`, order([line({ tax: -0.01 })])), 400, /tax must be at least 0\.00/],
    // Sizes: what the payment can always take, and the configured limits.
    ['a total over ORDER_MAX_TOTAL', () => post(`${account()}/commands/postOrder`, order([line({ price: 600 }), line({ price: 400.5 })])), 400, /over the limit of 1000\.00 \(ORDER_MAX_TOTAL\)/],
    ['units over ORDER_MAX_UNITS', () => post(`${account()}/commands/postOrder`, order([line({ quantity: 30 }), line({ quantity: 21 })])), 400, /at most 50 units .* \(ORDER_MAX_UNITS\)/],
    ['a line over 1000 units', () => post(`${account()}/commands/postOrder`, order([line({ quantity: 1001 })])), 400, /quantity must be at most 1000/],
    ['101 lines', () => post(`${account()}/commands/postOrder`, order(Array.from({ length: 101 }, () => line()))), 400, /at most 100 line items/],
    // One product-id rule for orders and the warehouse.
    ['a 101-character product id in an order', () => post(`${account()}/commands/postOrder`, order([line({ productId: 'P'.repeat(101) })])), 400, /productId must be at most 100 characters/],
    ['a 101-character product id in stock', () => post(`/v1/warehouses/${warehouseId}/inventory`, { productId: 'P'.repeat(101), quantity: 1 }), 400, /productId must be at most 100 characters/],
    ['a blank product id in an order', () => post(`${account()}/commands/postOrder`, order([line({ productId: '  ' })])), 400, /productId is required/],
  ];

  for (const [what, send, status, detail] of cases) {
    it(`answers ${status} problem+json for ${what}`, async () => {
      expectProblem(await send(), status, detail);
    });
  }

  it('wrote nothing for any of them: every table and every stream as before', async () => {
    await new Promise((r) => setTimeout(r, 500)); // room for a wrong write to reach the worker
    const after = await writeSnapshot(env);
    expect(snapshotDiff(baseline, after)).to.deep.equal([]);
    expect((await get('/v1/ops/dead-letters')).body.count).to.equal(deadLetterCount);
  });

  it('accepts what the rules allow: 2 decimals as a number or a string, a price of 0.01, a product id of 100 characters', async () => {
    const r = await post(`${account()}/commands/postOrder`, order([line({ price: 19.99, tax: '0.01' }), line({ price: 0.01, tax: 0, productId: 'P'.repeat(100) })]));
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    expect(r.body.lineItems.map((l: { price: number; tax: number }) => [l.price, l.tax])).to.deep.equal([[19.99, 0.01], [0.01, 0]]);
    expect(r.body.total).to.equal(20.01);
  });

  it('caps the orders in flight of one account (ORDERS_IN_FLIGHT_PER_ACCOUNT): 429 naming the cap, other accounts unaffected', async () => {
    const api = client(server.url);
    const flooder = await activeAccount(api);
    const other = await activeAccount(api);
    // Cents .02: the simulated gateway never answers, so these orders stay in flight.
    const stuck = () => post(`/v1/accounts/${flooder}/commands/postOrder`, order([line({ price: 10.02 })]));
    const answers = await Promise.all([stuck(), stuck(), stuck(), stuck(), stuck()]);
    expect(answers.map((a) => a.status).sort()).to.deep.equal([201, 201, 429, 429, 429]);
    for (const a of answers.filter((x) => x.status === 429)) {
      expectProblem(a, 429, /ORDERS_IN_FLIGHT_PER_ACCOUNT=2/);
      expect(a.body.limit).to.deep.include({ name: 'ORDERS_IN_FLIGHT_PER_ACCOUNT', value: 2 });
      expect(Number(a.headers.get('retry-after'))).to.be.at.least(1);
    }
    const mine = await post(`/v1/accounts/${other}/commands/postOrder`, order([line({ price: 10.02 })]));
    expect(mine.status, JSON.stringify(mine.body)).to.equal(201);
  });

  it('caps the units in flight of one account (ORDER_UNITS_IN_FLIGHT_PER_ACCOUNT), but always takes an order when none is in flight', async () => {
    const api = client(server.url);
    const big = await activeAccount(api);
    // 40 units alone: over the cap of 30, accepted because the account has nothing in flight.
    const first = await post(`/v1/accounts/${big}/commands/postOrder`, order([line({ price: 10.02, quantity: 40 })]));
    expect(first.status, JSON.stringify(first.body)).to.equal(201);
    const second = await post(`/v1/accounts/${big}/commands/postOrder`, order([line({ price: 10.02 })]));
    expectProblem(second, 429, /40 units in flight; 1 more would pass ORDER_UNITS_IN_FLIGHT_PER_ACCOUNT=30/);
    expect(second.body.limit).to.deep.include({ name: 'ORDER_UNITS_IN_FLIGHT_PER_ACCOUNT', value: 30, current: 40 });
  });
});

describe('request quota end to end (RATE_LIMIT_POINTS)', function () {
  this.timeout(60_000);
  let server: ServerProcess;

  before(async function () {
    this.timeout(60_000);
    server = await startServer(await freshDeployment('e2e_quota'), { ROLE: 'all', RATE_LIMIT_POINTS: '5', RATE_LIMIT_DURATION_S: '30' });
  });
  after(killStartedProcesses);

  it('answers the request past the quota 429 problem+json with Retry-After, writes nothing, and leaves the probes alone', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await raw(server.url, 'GET', '/v1/accounts')).status);
    expect(statuses).to.deep.equal([200, 200, 200, 200, 200]);
    const over = await raw(server.url, 'POST', '/v1/accounts', newProfile());
    expectProblem(over, 429, /at most 5 every 30 s/);
    expect(over.body.limit).to.deep.include({ name: 'RATE_LIMIT_POINTS', value: 5 });
    const retryAfter = Number(over.headers.get('retry-after'));
    expect(retryAfter).to.be.within(1, 30);
    expect((await raw(server.url, 'GET', '/healthz')).status).to.equal(200);
    expect((await raw(server.url, 'GET', '/readyz')).status).to.equal(200);
    const written = await writeSnapshot(server.env as unknown as TestEnv);
    expect([written['table:accounts'], written['table:events']]).to.deep.equal([0, 0]);
  });
});
