import { randomUUID } from 'node:crypto';
import type Router from '@koa/router';
import {
  HAL_JSON, NotFoundError, ifMatchVersion, ValidationError, bodyOf, correlationOf, link, mountAggregateRoutes, pageRequest,
  pagedCollection, requireUuid, resource, type Queryable, type RuntimeServices,
} from '../../runtime';
import { ACCOUNT, type AccountView } from './contract';
import { findAccount, listAccounts } from './read-model';

const BASE = '/v1/accounts';

/** The account resource: the seed's fields and links (`self, commands, events, orders`). */
export function accountResource(a: AccountView) {
  const self = `${BASE}/${a.accountId}`;
  return resource(a, {
    self: link(self),
    commands: link(`${self}/commands`),
    events: link(`${self}/events`),
    orders: link(`${self}/orders`),
  });
}

async function presentAccount(q: Queryable, id: string) {
  const account = await findAccount(q, id);
  if (!account) throw new NotFoundError(`No account with id ${id}`);
  return accountResource(account);
}

/** `If-Match: "3"` (or `3`) → 3; absent → no check; anything else is a 400, not a 409 for version NaN. */
export function accountRoutes(router: Router, services: RuntimeServices): void {
  const { actors, db } = services;

  router.get(BASE, async (ctx) => {
    const page = pageRequest(ctx.query);
    const { items, total } = await listAccounts(db, page.page, page.size);
    ctx.type = HAL_JSON;
    ctx.body = pagedCollection(BASE, ACCOUNT, items.map(accountResource), page, total);
  });

  router.post(BASE, async (ctx) => {
    const id = randomUUID();
    await actors.execute(ACCOUNT, id, 'register', bodyOf(ctx), { expectedVersion: 0, causation: correlationOf(ctx) });
    ctx.status = 201;
    ctx.set('Location', `${BASE}/${id}`);
    ctx.type = HAL_JSON;
    ctx.body = await presentAccount(db, id);
  });

  router.get(`${BASE}/:id`, async (ctx) => {
    const id = requireUuid(ctx.params.id, ACCOUNT);
    const body = await presentAccount(db, id);
    ctx.type = HAL_JSON;
    ctx.set('ETag', `"${body.version}"`);
    ctx.body = body;
  });

  // Profile fields only: a status change is a command, and so an event.
  router.put(`${BASE}/:id`, async (ctx) => {
    const id = requireUuid(ctx.params.id, ACCOUNT);
    const body = bodyOf(ctx);
    if (body && typeof body === 'object' && 'status' in body) {
      throw new ValidationError("status cannot be set directly; use the account's commands (GET .../commands)", [
        { path: 'status', message: 'not settable' },
      ]);
    }
    const expectedVersion = ifMatchVersion(ctx.get('if-match'));
    // Read back in the command's transaction: the answer is this write, not a later writer's.
    const account = await db.transaction(async (tx) => {
      await actors.execute(ACCOUNT, id, 'updateProfile', body, { tx, expectedVersion, causation: correlationOf(ctx) });
      return presentAccount(tx, id);
    });
    ctx.type = HAL_JSON;
    ctx.set('ETag', `"${account.version}"`);
    ctx.body = account;
  });

  mountAggregateRoutes(router, services, {
    basePath: BASE,
    aggregate: ACCOUNT,
    present: (state, _s, q) => presentAccount(q, state.id),
  });
}
