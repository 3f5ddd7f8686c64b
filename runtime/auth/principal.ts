import type { Context } from 'koa';

/** What a credential may do. Independent: `write` does not imply `read`, nor `ops` either. */
export const SCOPES = ['read', 'write', 'ops'] as const;
export type Scope = (typeof SCOPES)[number];

export const isScope = (s: unknown): s is Scope => typeof s === 'string' && (SCOPES as readonly string[]).includes(s);

/** An API key from `api_keys` (`tributary keys create`). */
export interface ApiKeyPrincipal {
  kind: 'api-key';
  keyId: string;
  name: string;
  scopes: readonly Scope[];
  /** Set when the key is bound to one account. */
  accountId?: string;
}

/** A JWT bearer token verified against the configured key or JWKS. */
export interface JwtPrincipal {
  kind: 'jwt';
  subject?: string;
  scopes: readonly Scope[];
  accountId?: string;
}

/** Development without any credential configured: everything is allowed (start-up says so loudly). */
export interface OpenPrincipal {
  kind: 'open';
  scopes: readonly Scope[];
  accountId?: undefined;
}

export type Principal = ApiKeyPrincipal | JwtPrincipal | OpenPrincipal;

export const OPEN_PRINCIPAL: OpenPrincipal = { kind: 'open', scopes: SCOPES };

/**
 * Which accounts a request may see and act on: every one, or one (a credential bound to an
 * account). Read models take it and add the WHERE clause themselves, so a route cannot forget it.
 */
export type AccountAccess = { kind: 'all' } | { kind: 'account'; accountId: string };

export const ALL_ACCOUNTS: AccountAccess = { kind: 'all' };

/** The access of a principal. */
export const accessFor = (p: Principal): AccountAccess => (p.accountId ? { kind: 'account', accountId: p.accountId } : ALL_ACCOUNTS);

/**
 * The access of the request (set by the auth guard before any route runs). An app built
 * without the guard (tests that build the Koa app alone) sees every account.
 */
export const accessOf = (ctx: Context): AccountAccess => (ctx.state.access as AccountAccess | undefined) ?? ALL_ACCOUNTS;

/** May `access` see rows of `accountId`? */
export const canSeeAccount = (access: AccountAccess, accountId: string): boolean => access.kind === 'all' || access.accountId === accountId.toLowerCase();

/**
 * The SQL condition that limits rows to `access`: `column = ?` for one account, nothing for all.
 * `column` is code, never input.
 */
export function accessCondition(access: AccountAccess, column: string): { sql?: string; params: string[] } {
  return access.kind === 'all' ? { params: [] } : { sql: `${column} = ?`, params: [access.accountId] };
}
