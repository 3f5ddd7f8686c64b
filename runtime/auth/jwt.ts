import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Config } from '../config';
import { ConfigError } from '../config';
import { ServiceUnavailableError, UnauthorizedError } from '../errors';
import { isScope, type JwtPrincipal, type Scope } from './principal';

type JwtSettings = NonNullable<Config['auth']['jwt']>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The algorithms accepted for each kind of key: never `none`, never HMAC with a public key. */
const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/**
 * Verifies bearer JWTs: signature (a static secret, a static public key, or the keys of a
 * JWKS URL, fetched and cached by jose, refetched for an unknown `kid`), `iss`, `aud`, `exp`
 * and `nbf` (30 s clock tolerance). Scopes come from `scopeClaim` (a space-separated string or
 * an array; unknown scopes are ignored) and the bound account from `accountClaim`.
 */
export class JwtVerifier {
  private readonly key: KeyObject | JWTVerifyGetKey;
  private readonly algorithms: string[];

  constructor(private readonly settings: JwtSettings) {
    if (settings.jwksUrl) {
      this.key = createRemoteJWKSet(new URL(settings.jwksUrl), { timeoutDuration: 5_000, cooldownDuration: 30_000 });
      this.algorithms = ASYMMETRIC;
    } else if (settings.secret) {
      this.key = createSecretKey(Buffer.from(settings.secret, 'utf8'));
      this.algorithms = ['HS256', 'HS384', 'HS512'];
    } else {
      try {
        this.key = createPublicKey(settings.publicKey!);
      } catch (err) {
        throw new ConfigError(`Invalid AUTH_JWT_PUBLIC_KEY: not a PEM public key (${(err as Error).message})`);
      }
      this.algorithms = ASYMMETRIC;
    }
  }

  /** The principal of a valid token; a {@link UnauthorizedError} for any other. */
  async verify(token: string): Promise<JwtPrincipal> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.key as KeyObject, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms: this.algorithms,
        clockTolerance: 30,
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      // The key set could not be fetched: the token may be fine, the outage is ours (503, retry).
      if (err instanceof joseErrors.JWKSTimeout || !(err instanceof joseErrors.JOSEError)) {
        throw new ServiceUnavailableError('The identity provider\'s key set (AUTH_JWKS_URL) could not be fetched; try again shortly');
      }
      throw new UnauthorizedError(`The bearer token was refused: ${reason(err)}`, true);
    }
    const account = payload[this.settings.accountClaim];
    if (account !== undefined && (typeof account !== 'string' || !UUID.test(account))) {
      throw new UnauthorizedError(`The bearer token's ${this.settings.accountClaim} claim is not an account id`, true);
    }
    return { kind: 'jwt', subject: payload.sub, scopes: scopesOf(payload[this.settings.scopeClaim]), accountId: account?.toLowerCase() };
  }
}

function scopesOf(claim: unknown): Scope[] {
  const values = typeof claim === 'string' ? claim.split(' ') : Array.isArray(claim) ? claim : [];
  return [...new Set(values.filter(isScope))];
}

/** What the client is told: the kind of failure, never key material or the verifier's internals. */
function reason(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `claim ${err.claim} is not accepted`;
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad signature';
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'algorithm not accepted';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'no key matches its kid';
  return 'malformed';
}
