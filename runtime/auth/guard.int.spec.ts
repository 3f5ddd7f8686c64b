import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import Koa from 'koa';
import Router from '@koa/router';
import { testEnv, testConfig } from '../../test/support/runtime';
import { createDb, type Db } from '../store/database';
import { migrateLatest } from '../store/migrate';
import { createLogger } from '../logger';
import { errorHandler } from '../http/problem';
import { route } from '../http/route-spec';
import { Authenticator } from './authenticator';
import { authGuard } from './guard';
import { createApiKey } from './api-key-store';
import { accessOf } from './principal';

/**
 * The guard alone, on a router of its own (real Postgres for the keys): the scope comes from
 * the matched route's spec, a route without a spec needs ops, HEAD is GET, a path no route
 * serves is the router's 404/405, and a bound credential reaches only `perAccount` routes.
 */
describe('auth guard', function () {
  this.timeout(30_000);
  let db: Db;
  let server: Server;
  let url = '';
  const keys: Record<string, string> = {};
  const seen: unknown[] = [];

  before(async () => {
    const env = await testEnv('auth_guard');
    await migrateLatest(env.DATABASE_URL, []);
    db = createDb(env.DATABASE_URL, 2);
    for (const [name, scopes, accountId] of [
      ['reader', ['read']],
      ['operator', ['ops']],
      ['bound', ['read'], '11111111-2222-3333-4444-555555555555'],
    ] as const) keys[name] = (await createApiKey(db, { name, scopes: [...scopes], accountId })).key;
    const config = testConfig(env);
    const auth = await Authenticator.start(db, config, createLogger('silent'));
    const router = new Router();
    const ok = (ctx: Koa.Context) => {
      seen.push(accessOf(ctx));
      ctx.body = { ok: true };
    };
    route(router, { method: 'get', path: '/open', operationId: 'open', summary: 's', scope: 'public', responses: {} }, ok);
    route(router, { method: 'get', path: '/things/:id', operationId: 'thing', summary: 's', scope: 'read', responses: {} }, ok);
    route(router, { method: 'get', path: '/mine', operationId: 'mine', summary: 's', scope: 'read', perAccount: true, responses: {} }, ok);
    router.get('/undeclared', ok);
    const app = new Koa();
    app.use(errorHandler(createLogger('silent')));
    app.use(authGuard(auth, router, [{ prefix: '/board', scope: 'ops' }]));
    app.use(async (ctx, next) => (ctx.path.startsWith('/board') ? ok(ctx) : next()));
    app.use(router.routes());
    app.use(router.allowedMethods());
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await db?.destroy();
  });

  const get = async (path: string, key?: string, method = 'GET') => {
    const res = await fetch(`${url}${path}`, { method, headers: key ? { authorization: `Bearer ${key}` } : {} });
    await res.arrayBuffer();
    return res.status;
  };

  it('reads the scope from the matched route: public needs nothing, read needs read', async () => {
    expect(await get('/open')).to.equal(200);
    expect(await get('/things/1')).to.equal(401);
    expect(await get('/things/1', keys.reader)).to.equal(200);
    expect(await get('/things/1', keys.operator)).to.equal(403);
  });

  it('treats HEAD as the GET it is', async () => {
    expect(await get('/things/1', undefined, 'HEAD')).to.equal(401);
    expect(await get('/things/1', keys.reader, 'HEAD')).to.equal(200);
  });

  it('treats a route without a spec, and a guarded prefix, as ops', async () => {
    expect(await get('/undeclared', keys.reader)).to.equal(403);
    expect(await get('/undeclared', keys.operator)).to.equal(200);
    expect(await get('/board/x', keys.reader)).to.equal(403);
    expect(await get('/board/x', keys.operator)).to.equal(200);
  });

  it('leaves a path no route serves to the router (404), and a wrong method (405)', async () => {
    expect(await get('/nothing-here')).to.equal(404);
    expect(await get('/things/1', undefined, 'DELETE')).to.equal(405);
  });

  it('lets a bound credential reach perAccount routes only, with its access set', async () => {
    seen.length = 0;
    expect(await get('/mine', keys.bound)).to.equal(200);
    expect(seen).to.deep.equal([{ kind: 'account', accountId: '11111111-2222-3333-4444-555555555555' }]);
    expect(await get('/things/1', keys.bound)).to.equal(403);
    seen.length = 0;
    expect(await get('/mine', keys.reader)).to.equal(200);
    expect(seen).to.deep.equal([{ kind: 'all' }]);
  });
});
