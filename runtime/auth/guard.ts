import type Router from '@koa/router';
import type { Context, Next } from 'koa';
import { ForbiddenError, UnauthorizedError } from '../errors';
import { declaredRoutes, type RouteSpec } from '../http/route-spec';
import { accessFor, type Scope } from './principal';
import { CONSOLE_HEADER, type Authenticator } from './authenticator';

/** Path prefixes served ahead of the router (Bull Board) and the scope they need. */
export interface PrefixScope {
  prefix: string;
  scope: Scope;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What the guard decided a request needs: a scope, or nothing (a public route, or a path no route serves). */
type Need = { scope: Scope; spec?: RouteSpec } | undefined;

/**
 * The one place scopes are enforced. It finds the route the router will run for the request
 * (`router.match`) and reads the scope from that route's spec: `public` needs nothing; `read`,
 * `write` and `ops` need a credential holding that scope. A route mounted without a spec is
 * treated as `ops`. A credential bound to one account may call only routes whose spec says
 * `perAccount` (their handlers limit what they read and write to `ctx.state.access`); any
 * other route answers it 403. A path no route serves is left to the router (404/405).
 *
 * Sets `ctx.state.principal` and `ctx.state.access` for the handlers.
 */
export function authGuard(auth: Authenticator, router: Router, prefixes: readonly PrefixScope[] = []) {
  const specs = new Map<string, RouteSpec>();
  for (const s of declaredRoutes(router)) specs.set(`${s.method.toUpperCase()} ${s.path}`, s);

  function need(ctx: Context): Need {
    const prefix = prefixes.find((p) => ctx.path === p.prefix || ctx.path.startsWith(`${p.prefix}/`));
    if (prefix) return { scope: prefix.scope };
    const method = ctx.method === 'HEAD' ? 'GET' : ctx.method;
    const matched = router.match(ctx.path, method);
    const layer = matched.pathAndMethod.find((l) => l.methods.length > 0);
    if (!layer) return undefined;
    const spec = specs.get(`${method} ${String(layer.path)}`);
    if (!spec) return { scope: 'ops' };
    return spec.scope === 'public' ? undefined : { scope: spec.scope, spec };
  }

  return async function guard(ctx: Context, next: Next): Promise<void> {
    const required = need(ctx);
    if (!required) return next();
    const { principal, source } = await auth.authenticate(ctx);
    if (source === 'cookie' && !SAFE_METHODS.has(ctx.method) && ctx.get(CONSOLE_HEADER.name) !== CONSOLE_HEADER.value) {
      throw new UnauthorizedError(`A request authenticated by the session cookie must carry ${CONSOLE_HEADER.name}: ${CONSOLE_HEADER.value} (cross-site request defence)`, true);
    }
    if (!principal.scopes.includes(required.scope)) {
      throw new ForbiddenError(`This credential lacks the ${required.scope} scope that ${ctx.method} ${ctx.path} needs`, required.scope);
    }
    if (principal.accountId && !required.spec?.perAccount) {
      throw new ForbiddenError(`This credential is bound to one account; ${ctx.method} ${ctx.path} is not limited to an account, so it needs an unbound credential`, required.scope);
    }
    ctx.state.principal = principal;
    ctx.state.access = accessFor(principal);
    await next();
  };
}
