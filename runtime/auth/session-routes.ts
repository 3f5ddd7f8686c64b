import type Router from '@koa/router';
import { z } from 'zod';
import { ServiceUnavailableError } from '../errors';
import { bodyOf } from '../http/json-body';
import { route } from '../http/route-spec';
import { validate } from '../validation';
import type { Authenticator } from './authenticator';
import { clearSessionCookie, setSessionCookie, SESSION_COOKIE } from './session-cookie';
import { SCOPES } from './principal';

const authenticators = new WeakMap<object, Authenticator>();

/** Makes the session routes of the app built on `services` check keys with `auth`. */
export function attachAuthenticator(services: object, auth: Authenticator): void {
  authenticators.set(services, auth);
}

const sessionBody = z.object({ apiKey: z.string().min(1).max(200).describe('An API key (trb_<keyId>_<secret>)') }).strict();

const sessionSchema = z
  .object({
    keyId: z.string(),
    name: z.string(),
    scopes: z.array(z.enum(SCOPES)),
    accountId: z.uuid().nullable(),
  })
  .strict()
  .meta({ id: 'Session' });

const tags = ['Auth'];

/**
 * The console's sign-in: `POST /v1/auth/session` checks an API key and sets it as an
 * HttpOnly, SameSite=Strict cookie (Secure over https), which the guard accepts like a bearer
 * header (with the CSRF header on writes). `DELETE` clears it. Both public: they grant
 * nothing a key does not already grant.
 */
export function mountSessionRoutes(router: Router, services: object): void {
  route(router, {
    method: 'post',
    path: '/v1/auth/session',
    operationId: 'createSession',
    summary: 'Signs a browser in: checks the API key and sets it as an HttpOnly session cookie',
    description: `The cookie (${SESSION_COOKIE}) is HttpOnly and SameSite=Strict, Secure over https. Requests it authenticates that are not GET must carry X-Requested-With: tributary-console.`,
    tags,
    scope: 'public',
    body: sessionBody,
    responses: {
      200: { description: 'Signed in; the cookie is set', schema: sessionSchema, contentType: 'application/json', headers: { 'Set-Cookie': `${SESSION_COOKIE}=<the key>; HttpOnly; SameSite=Strict` } },
      401: { description: 'The key is malformed, unknown or revoked', headers: { 'WWW-Authenticate': 'Bearer realm="tributary"' } },
    },
  }, async (ctx) => {
    const { apiKey } = validate(sessionBody, bodyOf(ctx));
    const auth = authenticators.get(services);
    if (!auth) throw new ServiceUnavailableError('Sign-in is not available in this process');
    const key = await auth.verifyApiKey(apiKey);
    setSessionCookie(ctx, apiKey);
    ctx.type = 'application/json';
    ctx.body = { keyId: key.keyId, name: key.name, scopes: [...key.scopes], accountId: key.accountId ?? null };
  });

  route(router, {
    method: 'delete',
    path: '/v1/auth/session',
    operationId: 'deleteSession',
    summary: 'Signs a browser out: clears the session cookie',
    tags,
    scope: 'public',
    responses: { 204: { description: 'The cookie is cleared', headers: { 'Set-Cookie': `${SESSION_COOKIE}=; Max-Age=0` } } },
  }, (ctx) => {
    clearSessionCookie(ctx);
    ctx.status = 204;
  });
}
