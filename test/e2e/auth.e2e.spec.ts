/**
 * Authentication and authorization end to end (docs/security.md), with API keys, on one real
 * `tributary start` process with every context: every non-public operation of the API
 * document refuses an anonymous request, scopes are enforced by the guard, a revoked key stops
 * working within AUTH_KEY_CACHE_MS, a key bound to one account sees and acts on that account
 * only (nothing written for another), hostile credentials get 401 problem+json, and the
 * console's session cookie works with its CSRF header.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { eventually } from '../support/runtime';
import { freshDeployment, killStartedProcesses, REPO_ROOT, spawnCli, startServer, type ServerProcess } from '../support/e2e-process';
import { client, expectProblem, newProfile, type Client, type Reply } from '../support/e2e-http';
import { ADDRESS, line, settledOrder, stockedWarehouse } from '../support/e2e-shop';
import { createDb, type Db } from '../../runtime/store/database';
import { createApiKey } from '../../runtime/auth/api-key-store';

const CACHE_MS = 300;

/** Runs `tributary keys ...` against the deployment and returns its stdout (fails on a non-zero exit). */
async function keysCli(env: Record<string, string>, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawnCli({ ...env, LOG_LEVEL: 'warn' }, ['keys', ...args]);
  const exit = await p.exited;
  return { code: exit.code, stdout: p.stdout(), stderr: p.stderr() };
}

/** A client that sends `key` as a bearer token on every request. */
function as(api: Client, key: string) {
  const headers = { authorization: `Bearer ${key}` };
  return {
    get: (p: string) => api.get(p, { headers }),
    post: (p: string, body?: unknown) => api.post(p, body, { headers }),
    put: (p: string, body?: unknown) => api.put(p, body, { headers }),
  };
}

function expectChallenge(reply: Reply, status: 401 | 403, scope?: string): void {
  expectProblem(reply, status);
  const challenge = reply.headers.get('www-authenticate') ?? '';
  expect(challenge).to.match(/^Bearer realm="tributary"/);
  if (status === 403) expect(challenge).to.include('error="insufficient_scope"').and.include(`scope="${scope}"`);
}

async function count(db: Db, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await db.raw<{ rows: { n: string }[] }>(sql, params);
  return Number(rows[0].n);
}

describe('auth end to end: API keys, scopes, account binding, session cookie', function () {
  this.timeout(60_000);
  let server: ServerProcess;
  let api: Client;
  let db: Db;
  let env: Record<string, string>;
  let admin: ReturnType<typeof as>;
  let adminKey = '';

  before(async function () {
    this.timeout(120_000);
    env = { ...(await freshDeployment('e2e_auth')) } as unknown as Record<string, string>;
    // The first key, made by the operator's CLI before the API starts: so the API starts closed.
    const created = await keysCli(env, ['create', '--name', 'operator', '--scopes', 'read,write,ops']);
    expect(created.code, created.stderr).to.equal(0);
    adminKey = created.stdout.trim();
    expect(adminKey).to.match(/^trb_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).to.include('shown once');
    server = await startServer(env, { CONTEXTS: 'all', TIMER_POLL_MS: '100', ORDER_STEP_TIMEOUT_MS: '20000', AUTH_KEY_CACHE_MS: String(CACHE_MS), LOG_LEVEL: 'info' });
    api = client(server.url);
    admin = as(api, adminKey);
    db = createDb(env.DATABASE_URL, 2);
  });

  after(async () => {
    await db?.destroy();
    await killStartedProcesses();
  });

  it('starts closed (a key exists) and says so', () => {
    expect(server.stdout()).to.include('authentication on');
    expect(server.stdout()).to.not.include('AUTH OFF');
  });

  it('answers 401 problem+json with WWW-Authenticate to an anonymous request on every non-public operation of the API document', async () => {
    const document = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'docs', 'openapi.json'), 'utf8')) as { paths: Record<string, Record<string, { 'x-scope': string; security?: unknown[] }>> };
    let checked = 0;
    for (const [template, operations] of Object.entries(document.paths)) {
      for (const [method, op] of Object.entries(operations)) {
        if (op['x-scope'] === 'public') {
          expect(op.security, `${method} ${template}: public, no security`).to.deep.equal([]);
          continue;
        }
        const url = template.replace(/\{[^}]+\}/g, randomUUID());
        const res = await fetch(`${server.url}${url}`, {
          method: method.toUpperCase(),
          headers: { 'content-type': 'application/json' },
          body: method === 'get' || method === 'delete' ? undefined : '{}',
          signal: AbortSignal.timeout(10_000),
        });
        const body = (await res.json()) as { status: number };
        expect(res.status, `${method.toUpperCase()} ${template}`).to.equal(401);
        expect(res.headers.get('content-type'), `${method.toUpperCase()} ${template}`).to.match(/^application\/problem\+json/);
        expect(res.headers.get('www-authenticate')).to.equal('Bearer realm="tributary"');
        expect(body.status).to.equal(401);
        checked++;
      }
    }
    expect(checked, 'operations checked').to.be.greaterThan(40);
    // Bull Board is served ahead of the router, and /metrics by the metrics module: both ops.
    for (const p of ['/console/queues', '/console/queues/api/queues', '/metrics']) {
      const res = await fetch(`${server.url}${p}`);
      expect(res.status, p).to.equal(401);
      await res.arrayBuffer();
    }
    // Public ones stay public.
    for (const p of ['/healthz', '/readyz', '/v1', '/v1/openapi.json']) expect((await fetch(`${server.url}${p}`)).status, p).to.equal(200);
  });

  it('refuses hostile credentials with 401 problem+json: malformed header, huge header, wrong shape, unknown key, wrong secret', async () => {
    const [, keyId] = adminKey.split('_');
    const hostile = [
      'Basic dXNlcjpwYXNz',
      'Bearer',
      'Bearer a b',
      'Bearer trb_short',
      `Bearer trb_${keyId}_${'A'.repeat(42)}`, // one character short
      `Bearer trb_${keyId}_${'A'.repeat(43)}`, // right shape, wrong secret
      `Bearer trb_${'0'.repeat(16)}_${'A'.repeat(43)}`, // no such key
      `Bearer ${'x'.repeat(9_000)}`, // longer than any credential
      'Bearer eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wcyJ9.', // alg none, and JWT is not configured here
      `Bearer ${adminKey}\u0000`,
    ];
    const before = await count(db, 'SELECT count(*) AS n FROM accounts');
    for (const authorization of hostile) {
      let res: Response;
      try {
        res = await fetch(`${server.url}/v1/accounts`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify(newProfile()) });
      } catch {
        continue; // fetch itself refuses some header values (NUL): nothing reached the server
      }
      const body = (await res.json()) as { status: number; type: string };
      expect(res.status, authorization.slice(0, 60)).to.equal(401);
      expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
      expect(res.headers.get('www-authenticate')).to.equal('Bearer realm="tributary", error="invalid_token"');
      expect(body.type).to.equal('/problems/unauthorized');
    }
    expect(await count(db, 'SELECT count(*) AS n FROM accounts'), 'nothing written').to.equal(before);
  });

  it('a read key reads but cannot write (403 insufficient_scope, nothing written); a write key without ops cannot reach ops routes, Bull Board or /metrics', async () => {
    const reader = as(api, (await createApiKey(db, { name: 'reader', scopes: ['read'] })).key);
    const writer = as(api, (await createApiKey(db, { name: 'writer', scopes: ['read', 'write'] })).key);
    expect((await reader.get('/v1/accounts')).status).to.equal(200);
    const before = await count(db, 'SELECT count(*) AS n FROM accounts');
    const refused = await reader.post('/v1/accounts', newProfile());
    expectChallenge(refused, 403, 'write');
    expect(await count(db, 'SELECT count(*) AS n FROM accounts'), 'nothing written').to.equal(before);
    expect((await writer.post('/v1/accounts', newProfile())).status).to.equal(201);

    expectChallenge(await writer.get('/v1/ops/dead-letters'), 403, 'ops');
    expectChallenge(await writer.post(`/v1/ops/dead-letters/${randomUUID()}/redrive`), 403, 'ops');
    const writerKey = (await createApiKey(db, { name: 'writer2', scopes: ['write'] })).key;
    for (const p of ['/console/queues', '/metrics']) {
      const res = await fetch(`${server.url}${p}`, { headers: { authorization: `Bearer ${writerKey}` } });
      expect(res.status, p).to.equal(403);
      expect(res.headers.get('www-authenticate')).to.include('scope="ops"');
      await res.arrayBuffer();
      const ok = await fetch(`${server.url}${p}`, { headers: { authorization: `Bearer ${adminKey}` } });
      expect(ok.status, `${p} with ops`).to.equal(200);
      await ok.arrayBuffer();
    }
    expect((await admin.get('/v1/ops/dead-letters')).status).to.equal(200);
  });

  it('a revoked key is refused (401) once AUTH_KEY_CACHE_MS has passed', async () => {
    const { key, info } = await createApiKey(db, { name: 'short-lived', scopes: ['read'] });
    const user = as(api, key);
    expect((await user.get('/v1/accounts')).status).to.equal(200);
    const revoked = await keysCli(env, ['revoke', info.keyId]);
    expect(revoked.code, revoked.stderr).to.equal(0);
    expect(revoked.stdout).to.include(`revoked ${info.keyId}`);
    const listed = await keysCli(env, ['list', '--json']);
    const keys = JSON.parse(listed.stdout) as { keyId: string; revokedAt: string | null; name: string }[];
    expect(keys.find((k) => k.keyId === info.keyId)?.revokedAt).to.be.a('string');
    expect(listed.stdout, 'never a secret').to.not.include(key.split('_')[2]);
    const since = Date.now();
    const refusedAt = await eventually(async () => ((await user.get('/v1/accounts')).status === 401 ? Date.now() : undefined), 5_000, 25);
    expect(refusedAt - since, 'within the cache TTL (plus a request)').to.be.below(CACHE_MS + 1_000);
    expectChallenge(await user.get('/v1/accounts'), 401);
  });

  it('keys create refuses hostile input with one line and writes no key', async () => {
    const before = await count(db, 'SELECT count(*) AS n FROM api_keys');
    const revokedBefore = await count(db, 'SELECT count(*) AS n FROM api_keys WHERE revoked_at IS NOT NULL');
    for (const args of [
      ['--name', 'x', '--scopes', 'read,admin'],
      ['--name', 'x', '--scopes', ''],
      ['--name', "x'); DROP TABLE api_keys; --", '--scopes', 'read'],
      ['--name', 'x', '--scopes', 'read', '--account', "' OR 1=1 --"],
      ['--name', 'x', '--scopes', 'read', '--owner', 'me'],
      ['--name'],
    ]) {
      const r = await keysCli(env, ['create', ...args]);
      expect(r.code, args.join(' ')).to.equal(1);
      expect(r.stderr.trim().split('\n'), r.stderr).to.have.length(1);
      expect(r.stdout).to.not.match(/trb_/);
    }
    const revoke = await keysCli(env, ['revoke', "1 OR 1=1"]);
    expect(revoke.code).to.equal(1);
    expect(await count(db, 'SELECT count(*) AS n FROM api_keys'), 'no key written').to.equal(before);
    expect(await count(db, 'SELECT count(*) AS n FROM api_keys WHERE revoked_at IS NOT NULL'), 'none revoked').to.equal(revokedBefore);
  });

  describe('a key bound to one account', () => {
    let a = '';
    let b = '';
    let orderA = '';
    let orderB = '';
    let paymentA = '';
    let paymentB = '';
    let bound: ReturnType<typeof as>;
    let boundKey = '';

    before(async function () {
      this.timeout(90_000);
      const accounts: string[] = [];
      for (const name of ['Alice', 'Bob']) {
        const r = await admin.post('/v1/accounts', newProfile(name));
        expect(r.status, JSON.stringify(r.body)).to.equal(201);
        accounts.push(r.body.accountId);
      }
      [a, b] = accounts;
      for (const id of accounts) await eventually(async () => (await admin.get(`/v1/accounts/${id}`)).body.status === 'ACCOUNT_ACTIVE', 20_000);
      const adminClient = { ...api, get: admin.get, post: admin.post, put: admin.put } as unknown as Client;
      await stockedWarehouse(adminClient, { 'SKU-AUTH': 10 });
      const orders: string[] = [];
      for (const id of accounts) {
        const r = await admin.post('/v1/orders', { accountId: id, lineItems: [line('SKU-AUTH', 1)], shippingAddress: ADDRESS });
        expect(r.status, JSON.stringify(r.body)).to.equal(201);
        orders.push(r.body.orderId);
      }
      [orderA, orderB] = orders;
      const settled = await Promise.all(orders.map((o) => settledOrder(adminClient, o, 40_000)));
      [paymentA, paymentB] = settled.map((o) => o.paymentId as string);
      expect(paymentA, 'order A was charged').to.be.a('string');
      expect(paymentB, 'order B was charged').to.be.a('string');
      const created = await keysCli(env, ['create', '--name', 'alice app', '--scopes', 'read,write', '--account', a]);
      expect(created.code, created.stderr).to.equal(0);
      boundKey = created.stdout.trim();
      bound = as(api, boundKey);
    });

    it('lists only its own account, orders and payments', async () => {
      const accounts = await bound.get('/v1/accounts');
      expect(accounts.status).to.equal(200);
      expect(accounts.body.page.totalElements).to.equal(1);
      expect(accounts.body._embedded.accountList.map((x: { accountId: string }) => x.accountId)).to.deep.equal([a]);
      const orders = await bound.get('/v1/orders');
      expect(orders.body._embedded.orderList.map((x: { orderId: string }) => x.orderId)).to.deep.equal([orderA]);
      expect(orders.body.page.totalElements).to.equal(1);
      const filtered = await bound.get(`/v1/orders?accountId=${b}`);
      expect(filtered.body.page.totalElements, "another account's orders by filter").to.equal(0);
      const payments = await bound.get('/v1/payments');
      expect(payments.body._embedded.paymentList.map((x: { paymentId: string }) => x.paymentId)).to.deep.equal([paymentA]);
      expect((await bound.get(`/v1/payments?orderId=${orderB}`)).body.page.totalElements).to.equal(0);
      // The unbound operator key sees both.
      expect((await admin.get('/v1/orders')).body.page.totalElements).to.equal(2);
    });

    it("reads its own account, order and payment, and gets 404 for the other account's", async () => {
      for (const p of [`/v1/accounts/${a}`, `/v1/orders/${orderA}`, `/v1/payments/${paymentA}`, `/v1/accounts/${a}/events`, `/v1/orders/${orderA}/events`, `/v1/payments/${paymentA}/commands`, `/v1/accounts/${a}/orders`]) {
        expect((await bound.get(p)).status, p).to.equal(200);
      }
      for (const p of [`/v1/accounts/${b}`, `/v1/orders/${orderB}`, `/v1/payments/${paymentB}`, `/v1/accounts/${b}/events`, `/v1/accounts/${b}/commands`, `/v1/orders/${orderB}/events`, `/v1/orders/${orderB}/commands`, `/v1/payments/${paymentB}/events`, `/v1/accounts/${b}/orders`]) {
        expectProblem(await bound.get(p), 404);
      }
    });

    it("cannot place orders, change the profile or run commands for the other account (404, nothing written); can for its own", async () => {
      const ordersOfB = () => count(db, 'SELECT count(*) AS n FROM orders WHERE account_id = ?', [b]);
      const versionOfB = () => count(db, 'SELECT version AS n FROM accounts WHERE account_id = ?', [b]);
      const [ordersBefore, versionBefore] = [await ordersOfB(), await versionOfB()];
      const draft = { lineItems: [line('SKU-AUTH', 1)], shippingAddress: ADDRESS };
      expectProblem(await bound.post('/v1/orders', { ...draft, accountId: b }), 404);
      expectProblem(await bound.post(`/v1/accounts/${b}/commands/postOrder`, draft), 404);
      expectProblem(await bound.post(`/v1/accounts/${b}/commands/suspend`), 404);
      expectProblem(await bound.put(`/v1/accounts/${b}`, newProfile('Mallory')), 404);
      expect(await ordersOfB(), 'no order for B').to.equal(ordersBefore);
      expect(await versionOfB(), "B's account unchanged").to.equal(versionBefore);
      const own = await bound.post('/v1/orders', { ...draft, accountId: a });
      expect(own.status, JSON.stringify(own.body)).to.equal(201);
      expect(own.body.accountId).to.equal(a);
    });

    it('is refused (403) where the resource is not per account: registering accounts, warehouses, correlations, the event stream, ops', async () => {
      const before = await count(db, 'SELECT count(*) AS n FROM accounts');
      expectChallenge(await bound.post('/v1/accounts', newProfile()), 403, 'write');
      expect(await count(db, 'SELECT count(*) AS n FROM accounts')).to.equal(before);
      for (const p of ['/v1/warehouses', `/v1/correlations/${orderB}`, '/v1/stats', '/v1/machines']) {
        const r = await bound.get(p);
        expect(r.status, p).to.equal(403);
      }
      const stream = await fetch(`${server.url}/v1/events/stream`, { headers: { authorization: `Bearer ${boundKey}` } });
      expect(stream.status).to.equal(403);
      await stream.arrayBuffer();
    });
  });

  describe('the console session cookie', () => {
    it('signs in with a key (HttpOnly, SameSite=Strict cookie), reads with it, needs X-Requested-With to write, signs out', async () => {
      const refused = await api.post('/v1/auth/session', { apiKey: `trb_${'0'.repeat(16)}_${'A'.repeat(43)}` });
      expectChallenge(refused, 401);
      expect(refused.headers.get('set-cookie')).to.equal(null);
      for (const hostile of [{ apiKey: 'x'.repeat(201) }, { apiKey: 42 }, { apiKey: adminKey, admin: true }, {}]) {
        const r = await api.post('/v1/auth/session', hostile);
        expectProblem(r, 400);
        expect(r.headers.get('set-cookie')).to.equal(null);
      }
      const signedIn = await api.post('/v1/auth/session', { apiKey: adminKey });
      expect(signedIn.status).to.equal(200);
      expect(signedIn.body).to.include({ name: 'operator', accountId: null });
      const setCookie = signedIn.headers.get('set-cookie') ?? '';
      expect(setCookie).to.match(/^tributary_session=trb_/).and.match(/httponly/i).and.match(/samesite=strict/i);
      expect(setCookie, 'not Secure over plain http').to.not.match(/;\s*secure/i);
      const cookie = setCookie.split(';')[0];
      expect((await api.get('/v1/accounts', { headers: { cookie } })).status).to.equal(200);
      const before = await count(db, 'SELECT count(*) AS n FROM accounts');
      expectChallenge(await api.post('/v1/accounts', newProfile(), { headers: { cookie } }), 401);
      expectChallenge(await api.post('/v1/accounts', newProfile(), { headers: { cookie, 'x-requested-with': 'evil' } }), 401);
      expect(await count(db, 'SELECT count(*) AS n FROM accounts'), 'nothing written without the header').to.equal(before);
      expect((await api.post('/v1/accounts', newProfile(), { headers: { cookie, 'x-requested-with': 'tributary-console' } })).status).to.equal(201);
      // Over https (behind a proxy that says so) the cookie is Secure.
      const secure = await api.post('/v1/auth/session', { apiKey: adminKey }, { headers: { 'x-forwarded-proto': 'https' } });
      expect(secure.headers.get('set-cookie')).to.match(/;\s*secure/i);
      const out = await api.request('DELETE', '/v1/auth/session', { headers: { cookie } });
      expect(out.status).to.equal(204);
      expect(out.headers.get('set-cookie')).to.match(/^tributary_session=;/);
    });
  });
});
