import type { Queryable } from '../store/database';
import { UnauthorizedError } from '../errors';
import { parseKey, secretMatches } from './api-key-format';
import { findApiKey, type ApiKeyRecord } from './api-key-store';
import type { ApiKeyPrincipal } from './principal';

/** Entries kept at most; past it the cache starts over (unknown key ids must not grow it without end). */
const MAX_ENTRIES = 10_000;

/**
 * Checks presented API keys against `api_keys`. A key's row (or its absence) is cached per
 * process for `ttlMs`, so a busy client costs one query per TTL, and a revocation takes
 * effect within `ttlMs` on every process. The secret is compared on every request, in
 * constant time.
 */
export class ApiKeyVerifier {
  private readonly cache = new Map<string, { record: ApiKeyRecord | undefined; at: number }>();

  constructor(private readonly db: Queryable, private readonly ttlMs: number) {}

  async verify(key: string): Promise<ApiKeyPrincipal> {
    const parts = parseKey(key);
    if (!parts) throw new UnauthorizedError('The API key is malformed (expected trb_<keyId>_<secret>)', true);
    const record = await this.lookup(parts.keyId);
    // One answer for unknown, revoked and wrong secret: the caller learns nothing about which.
    if (!record || record.revoked || !secretMatches(parts.secret, record.secretHash)) throw new UnauthorizedError('The API key is not valid', true);
    return { kind: 'api-key', keyId: record.keyId, name: record.name, scopes: record.scopes, accountId: record.accountId ?? undefined };
  }

  private async lookup(keyId: string): Promise<ApiKeyRecord | undefined> {
    const now = Date.now();
    const hit = this.cache.get(keyId);
    if (hit && now - hit.at < this.ttlMs) return hit.record;
    const record = await findApiKey(this.db, keyId);
    if (this.cache.size >= MAX_ENTRIES) this.cache.clear();
    if (this.ttlMs > 0) this.cache.set(keyId, { record, at: now });
    return record;
  }
}
