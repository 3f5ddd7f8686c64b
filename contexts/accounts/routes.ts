import { randomUUID } from 'node:crypto';
import type Router from '@koa/router';
import { z } from 'zod';
import {
  ETAG_HEADER, HAL_JSON, NotFoundError, ifMatchVersion, ifMatchSchema, ValidationError, bodyOf, correlationOf, idParamsSchema, link, linksSchema,
  mountAggregateRoutes, pageQuerySchema, pageRequest, statusFilterSchema, validate, halFormsTemplate, templatesSchema, pagedCollection, pagedCollectionSchema, requireUuid, resource, route, timestampSchema,
  ALL_ACCOUNTS, accessOf, canSeeAccount, type AccountAccess, type Queryable, type RuntimeServices,
} from '@tributary/runtime';
import { ACCOUNT, AccountStatus, type AccountView } from './contract';
import { findAccount, listAccounts } from './read-model';
import { accountAggregate, accountProfile } from './account.aggregate';

const statusFilter = z.object({ status: statusFilterSchema(accountAggregate) });

const BASE = '/v1/accounts';

/** The account resource as the API document describes it (what {@link accountResource} returns). */
export const accountResourceSchema = z
  .object({
    accountId: z.uuid(),
    firstName: z.string(),
    lastName: z.string(),
    email: z.string(),
    status: z.enum(Object.values(AccountStatus) as [AccountStatus, ...AccountStatus[]]),
    version: z.number().int().min(1),
    createdAt: timestampSchema,
    lastModified: timestampSchema,
    _links: linksSchema(['self', 'commands', 'events', 'orders']),
  })
  .strict()
  .meta({ id: 'Account' });

/**
 * One account with its HAL-FORMS default template: the profile form, PUT to the account itself
 * with `If-Match` set to the ETag of this read (so a concurrent change is refused, not lost).
 */
const accountWithFormSchema = accountResourceSchema.extend({ _templates: templatesSchema }).meta({ id: 'AccountWithForm' });

/** The `default` template of an account: the profile update (PUT, If-Match: the ETag). */
function profileTemplate(accountId: string) {
  return halFormsTemplate('Update the profile (send If-Match: the ETag of this read)', 'PUT', `${BASE}/${accountId}`, accountProfile);
}

const tags = ['Accounts'];
const notFound = { description: 'No account with that id' };

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

async function presentAccount(q: Queryable, id: string, access: AccountAccess) {
  const account = await findAccount(q, id, access);
  if (!account) throw new NotFoundError(`No account with id ${id}`);
  return accountResource(account);
}

/** `If-Match: "3"` (or `3`) → 3; absent → no check; anything else is a 400, not a 409 for version NaN. */
export function accountRoutes(router: Router, services: RuntimeServices): void {
  const { actors, db } = services;

  route(router, {
    method: 'get',
    path: BASE,
    operationId: 'listAccounts',
    summary: 'The accounts, oldest first, paged (optionally those in one status)',
    tags,
    scope: 'read',
    perAccount: true,
    query: pageQuerySchema.extend(statusFilter.shape),
    responses: { 200: { description: 'One page of accounts', schema: pagedCollectionSchema(ACCOUNT, accountResourceSchema) } },
  }, async (ctx) => {
    const page = pageRequest(ctx.query);
    const { status } = validate(statusFilter, { status: ctx.query.status });
    const { items, total } = await listAccounts(db, accessOf(ctx), page.page, page.size, status);
    ctx.type = HAL_JSON;
    ctx.body = pagedCollection(BASE, ACCOUNT, items.map(accountResource), page, total, { status });
  });

  route(router, {
    method: 'post',
    path: BASE,
    operationId: 'registerAccount',
    summary: 'Registers an account (status ACCOUNT_CREATED)',
    tags,
    scope: 'write',
    body: accountProfile,
    responses: {
      201: { description: 'The new account', schema: accountResourceSchema, headers: { Location: 'The new account\'s URL' } },
      409: { description: 'An account with the supplied email already exists' },
    },
  }, async (ctx) => {
    const id = randomUUID();
    await actors.execute(ACCOUNT, id, 'register', bodyOf(ctx), { expectedVersion: 0, causation: correlationOf(ctx) });
    ctx.status = 201;
    ctx.set('Location', `${BASE}/${id}`);
    ctx.type = HAL_JSON;
    ctx.body = await presentAccount(db, id, ALL_ACCOUNTS);
  });

  route(router, {
    method: 'get',
    path: `${BASE}/:id`,
    operationId: 'getAccount',
    summary: 'One account',
    tags,
    scope: 'read',
    perAccount: true,
    params: idParamsSchema,
    description: '`_templates.default` is the HAL-FORMS form of the profile update: PUT to the account with If-Match set to this ETag.',
    responses: { 200: { description: 'The account', schema: accountWithFormSchema, headers: ETAG_HEADER }, 404: notFound },
  }, async (ctx) => {
    const id = requireUuid(ctx.params.id, ACCOUNT);
    const body = await presentAccount(db, id, accessOf(ctx));
    ctx.type = HAL_JSON;
    ctx.set('ETag', `"${body.version}"`);
    ctx.body = { ...body, _templates: { default: profileTemplate(id) } };
  });

  // Profile fields only: a status change is a command, and so an event.
  route(router, {
    method: 'put',
    path: `${BASE}/:id`,
    operationId: 'updateAccountProfile',
    summary: "Replaces the account's profile (first name, last name, email)",
    description: "The status is not part of it (400 if sent): a status change is a command (GET .../commands).",
    tags,
    scope: 'write',
    perAccount: true,
    params: idParamsSchema,
    headers: { 'If-Match': ifMatchSchema.optional() },
    body: accountProfile,
    responses: {
      200: { description: 'The account after the change', schema: accountResourceSchema, headers: ETAG_HEADER },
      404: notFound,
      409: { description: 'The email is taken, the account cannot be updated in its status, or If-Match names an older version (concurrency-conflict)' },
    },
  }, async (ctx) => {
    const id = requireUuid(ctx.params.id, ACCOUNT);
    const body = bodyOf(ctx);
    if (body && typeof body === 'object' && 'status' in body) {
      throw new ValidationError("status cannot be set directly; use the account's commands (GET .../commands)", [
        { path: 'status', message: 'not settable' },
      ]);
    }
    const expectedVersion = ifMatchVersion(ctx.get('if-match'));
    // Read back in the command's transaction: the answer is this write, not a later writer's.
    const access = accessOf(ctx);
    const account = await db.transaction(async (tx) => {
      // Another account's, for a bound credential: 404 before anything is written.
      if (!canSeeAccount(access, id)) throw new NotFoundError(`No account with id ${id}`);
      await actors.execute(ACCOUNT, id, 'updateProfile', body, { tx, expectedVersion, causation: correlationOf(ctx) });
      return presentAccount(tx, id, ALL_ACCOUNTS);
    });
    ctx.type = HAL_JSON;
    ctx.set('ETag', `"${account.version}"`);
    ctx.body = account;
  });

  mountAggregateRoutes(router, services, {
    basePath: BASE,
    aggregate: ACCOUNT,
    schema: accountResourceSchema,
    present: (state, _s, q) => presentAccount(q, state.id, ALL_ACCOUNTS),
    visible: async (_q, id, access) => canSeeAccount(access, id),
  });
}
