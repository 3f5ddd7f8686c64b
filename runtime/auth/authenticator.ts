import type { Context } from 'koa';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Queryable } from '../store/database';
import { StartupError, UnauthorizedError } from '../errors';
import { anyActiveKey } from './api-key-store';
import { ApiKeyVerifier } from './api-key-verifier';
import { JwtVerifier } from './jwt';
import { OPEN_PRINCIPAL, type Principal } from './principal';
import { SESSION_COOKIE } from './session-cookie';

/** While open, how often the key table is checked again: the first key created closes the API within this. */
export const OPEN_RECHECK_MS = 10_000;
/** Longer `Authorization` values are refused before any parsing (a key is 64 characters, a JWT rarely 2 KB). */
export const MAX_CREDENTIAL_LENGTH = 8_192;
/** Non-GET requests authenticated by the console's cookie must carry this header (CSRF defence). */
export const CONSOLE_HEADER = { name: 'X-Requested-With', value: 'tributary-console' };

/** Where a request's credential came from. */
export type CredentialSource = 'header' | 'cookie' | 'none';

/**
 * Finds and checks the credential of a request: `Authorization: Bearer <API key or JWT>`, or
 * the console's session cookie. Open mode (development without any credential configured)
 * lets every request through as {@link OPEN_PRINCIPAL}; it ends for good, without a restart,
 * once an API key exists (checked every {@link OPEN_RECHECK_MS}), and never starts again in a
 * running process (revoking the last key does not open the API).
 */
export class Authenticator {
  private readonly keys: ApiKeyVerifier;
  private readonly jwt?: JwtVerifier;
  private open: boolean;
  private checkedAt = Date.now();
  private checking?: Promise<void>;

  private constructor(private readonly db: Queryable, config: Config, open: boolean, private readonly log: Logger) {
    this.keys = new ApiKeyVerifier(db, config.auth.keyCacheMs);
    this.jwt = config.auth.jwt && new JwtVerifier(config.auth.jwt);
    this.open = open;
  }

  /**
   * Decides the mode at start-up: closed when a JWT key is configured or an API key exists;
   * otherwise open in development (with a loud warning) and a {@link StartupError} in production.
   */
  static async start(db: Queryable, config: Config, log: Logger): Promise<Authenticator> {
    const configured = Boolean(config.auth.jwt) || (await anyActiveKey(db));
    if (!configured && config.production) {
      throw new StartupError('NODE_ENV=production and no credential is configured: create an API key (tributary keys create) or set AUTH_JWKS_URL, AUTH_JWT_SECRET or AUTH_JWT_PUBLIC_KEY (docs/security.md)');
    }
    const auth = new Authenticator(db, config, !configured, log);
    if (auth.open) {
      log.warn(
        { auth: 'off' },
        'AUTH OFF: no API key and no JWT key configured, so ANYONE who can reach this port can read and change everything. Fine on a laptop; create a key (tributary keys create) or set AUTH_JWKS_URL/AUTH_JWT_SECRET before exposing it (docs/security.md)',
      );
    } else {
      log.info({ auth: 'on', jwt: Boolean(config.auth.jwt) }, 'authentication on');
    }
    return auth;
  }

  /** Is the API open (no credential required) right now? Rechecks the key table at most every {@link OPEN_RECHECK_MS}. */
  async isOpen(): Promise<boolean> {
    if (this.open && Date.now() - this.checkedAt >= OPEN_RECHECK_MS) {
      this.checking ??= anyActiveKey(this.db)
        .then((found) => {
          this.checkedAt = Date.now();
          if (found) {
            this.open = false;
            this.log.warn({ auth: 'on' }, 'authentication on: an API key now exists, so every request needs a credential');
          }
        })
        .finally(() => (this.checking = undefined));
      await this.checking;
    }
    return this.open;
  }

  /** The principal of `ctx`'s request, and where its credential came from; 401 when there is none or it is refused. */
  async authenticate(ctx: Context): Promise<{ principal: Principal; source: CredentialSource }> {
    const header = ctx.get('authorization');
    const cookie = header ? undefined : ctx.cookies.get(SESSION_COOKIE);
    if (await this.isOpen()) return { principal: OPEN_PRINCIPAL, source: 'none' };
    if (header) return { principal: await this.bearer(header), source: 'header' };
    if (cookie) return { principal: await this.credential(cookie), source: 'cookie' };
    throw new UnauthorizedError('A credential is required: Authorization: Bearer <API key or token> (docs/security.md)');
  }

  /** Checks an API key alone (the console's sign-in). */
  verifyApiKey(key: string) {
    return this.keys.verify(key);
  }

  private async bearer(header: string): Promise<Principal> {
    if (header.length > MAX_CREDENTIAL_LENGTH) throw new UnauthorizedError('The Authorization header is too long', true);
    const m = /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i.exec(header);
    if (!m) throw new UnauthorizedError('The Authorization header must be "Bearer <API key or token>"', true);
    return this.credential(m[1]);
  }

  private async credential(value: string): Promise<Principal> {
    if (value.length > MAX_CREDENTIAL_LENGTH) throw new UnauthorizedError('The credential is too long', true);
    if (value.startsWith('trb_')) return this.keys.verify(value);
    if (this.jwt && value.split('.').length === 3) return this.jwt.verify(value);
    throw new UnauthorizedError('The credential is neither an API key nor an accepted token', true);
  }
}
