import type { Context } from 'koa';

/**
 * The console's session cookie: the API key itself, HttpOnly (page scripts cannot read it),
 * SameSite=Strict (other sites' pages cannot make the browser send it), Secure over https.
 */
export const SESSION_COOKIE = 'tributary_session';

/** Cookie lifetime: a browser keeps the session for 12 hours (the key itself lives until revoked). */
const MAX_AGE_MS = 12 * 60 * 60 * 1000;

export function setSessionCookie(ctx: Context, key: string): void {
  ctx.cookies.set(SESSION_COOKIE, key, { httpOnly: true, sameSite: 'strict', secure: ctx.secure, path: '/', maxAge: MAX_AGE_MS, overwrite: true });
}

export function clearSessionCookie(ctx: Context): void {
  ctx.cookies.set(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'strict', secure: ctx.secure, path: '/', maxAge: 0, overwrite: true });
}
