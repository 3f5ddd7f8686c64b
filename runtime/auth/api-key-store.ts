import type { Queryable } from '../store/database';
import { ValidationError, NotFoundError } from '../errors';
import { generateKey } from './api-key-format';
import { isScope, SCOPES, type Scope } from './principal';

/** A stored key as `keys list` shows it: never the secret, nor its hash. */
export interface ApiKeyInfo {
  keyId: string;
  name: string;
  scopes: Scope[];
  accountId: string | null;
  createdAt: string;
  revokedAt: string | null;
}

/** The row the authenticator checks a presented key against. */
export interface ApiKeyRecord {
  keyId: string;
  name: string;
  secretHash: Buffer;
  scopes: Scope[];
  accountId: string | null;
  revoked: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NAME = /^[\w .:@-]{1,100}$/;

/** Checks what `keys create` was given; a bad value is a {@link ValidationError} naming it. */
export function validateNewKey(input: { name: string; scopes: string[]; accountId?: string }): { name: string; scopes: Scope[]; accountId?: string } {
  if (!NAME.test(input.name)) throw new ValidationError(`--name must be 1 to 100 letters, digits, spaces or _ . : @ -, not ${JSON.stringify(input.name)}`);
  const scopes = [...new Set(input.scopes.map((s) => s.trim()).filter(Boolean))];
  if (scopes.length === 0) throw new ValidationError(`--scopes must name at least one of ${SCOPES.join(', ')}`);
  const bad = scopes.find((s) => !isScope(s));
  if (bad !== undefined) throw new ValidationError(`--scopes: unknown scope ${JSON.stringify(bad)} (known: ${SCOPES.join(', ')})`);
  if (input.accountId !== undefined && !UUID.test(input.accountId)) throw new ValidationError(`--account must be an account id (a UUID), not ${JSON.stringify(input.accountId)}`);
  return { name: input.name, scopes: scopes as Scope[], accountId: input.accountId?.toLowerCase() };
}

/** Creates a key; returns it whole (the only time it exists outside the caller's hands) with its info. */
export async function createApiKey(db: Queryable, input: { name: string; scopes: string[]; accountId?: string }): Promise<{ key: string; info: ApiKeyInfo }> {
  const valid = validateNewKey(input);
  const { keyId, key, secretHash } = generateKey();
  const { rows } = await db.raw<{ rows: Row[] }>(
    'INSERT INTO api_keys (id, name, secret_hash, scopes, account_id) VALUES (?, ?, ?, ?::text[], ?) RETURNING *',
    [keyId, valid.name, secretHash, valid.scopes, valid.accountId ?? null],
  );
  return { key, info: toInfo(rows[0]) };
}

interface Row {
  id: string;
  name: string;
  secret_hash: Buffer;
  scopes: string[];
  account_id: string | null;
  created_at: Date;
  revoked_at: Date | null;
}

const toInfo = (r: Row): ApiKeyInfo => ({
  keyId: r.id,
  name: r.name,
  scopes: r.scopes.filter(isScope),
  accountId: r.account_id,
  createdAt: r.created_at.toISOString(),
  revokedAt: r.revoked_at?.toISOString() ?? null,
});

/** Every key, newest first (revoked ones too, marked). */
export async function listApiKeys(db: Queryable): Promise<ApiKeyInfo[]> {
  const { rows } = await db.raw<{ rows: Row[] }>('SELECT * FROM api_keys ORDER BY created_at DESC, id');
  return rows.map(toInfo);
}

/** Revokes a key (idempotent); a key id that names no key is a {@link NotFoundError}. */
export async function revokeApiKey(db: Queryable, keyId: string): Promise<ApiKeyInfo> {
  const { rows } = await db.raw<{ rows: Row[] }>('UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = ? RETURNING *', [keyId]);
  if (!rows[0]) throw new NotFoundError(`No API key with id ${keyId}`);
  return toInfo(rows[0]);
}

/** The key with this id, revoked or not. */
export async function findApiKey(db: Queryable, keyId: string): Promise<ApiKeyRecord | undefined> {
  const { rows } = await db.raw<{ rows: Row[] }>('SELECT * FROM api_keys WHERE id = ?', [keyId]);
  const r = rows[0];
  return r && { keyId: r.id, name: r.name, secretHash: r.secret_hash, scopes: r.scopes.filter(isScope), accountId: r.account_id, revoked: r.revoked_at !== null };
}

/** Is there at least one key that is not revoked? (Decides whether development runs open.) */
export async function anyActiveKey(db: Queryable): Promise<boolean> {
  const { rows } = await db.raw<{ rows: { found: boolean }[] }>('SELECT EXISTS (SELECT 1 FROM api_keys WHERE revoked_at IS NULL) AS found');
  return rows[0].found;
}
