import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * An API key is `trb_<keyId>_<secret>`: `keyId` 16 hex digits (public, names the key in
 * `keys list` and logs), `secret` 32 random bytes in base64url (43 characters). Only the
 * SHA-256 of the secret is stored. A slow password hash (bcrypt, scrypt) protects low-entropy
 * secrets chosen by people; 256 random bits cannot be guessed whatever the hash speed, so a
 * fast hash costs nothing in safety and keeps every request cheap.
 */
export const KEY_PATTERN = /^trb_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface NewKey {
  keyId: string;
  /** The whole key, shown once. */
  key: string;
  secretHash: Buffer;
}

export const hashSecret = (secret: string): Buffer => createHash('sha256').update(secret, 'utf8').digest();

/** A fresh key and the hash to store. */
export function generateKey(): NewKey {
  const keyId = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { keyId, key: `trb_${keyId}_${secret}`, secretHash: hashSecret(secret) };
}

/** The parts of a key, or undefined when it does not have the key's shape. */
export function parseKey(key: string): { keyId: string; secret: string } | undefined {
  const m = KEY_PATTERN.exec(key);
  return m ? { keyId: m[1], secret: m[2] } : undefined;
}

/** Does `secret` hash to `stored`? In constant time, so timing tells nothing about the stored hash. */
export function secretMatches(secret: string, stored: Buffer): boolean {
  const actual = hashSecret(secret);
  return stored.length === actual.length && timingSafeEqual(actual, stored);
}
