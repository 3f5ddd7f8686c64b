import { expect } from 'chai';
import { generateKey, hashSecret, parseKey, secretMatches } from './api-key-format';
import { validateNewKey } from './api-key-store';
import { accessCondition, canSeeAccount } from './principal';

describe('API key format', () => {
  it('generates trb_<16 hex>_<43 base64url> keys whose secret hashes to the stored hash', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const { key, keyId, secretHash } = generateKey();
      const parts = parseKey(key);
      expect(parts, key).to.not.equal(undefined);
      expect(parts!.keyId).to.equal(keyId);
      expect(secretMatches(parts!.secret, secretHash)).to.equal(true);
      expect(secretHash.equals(hashSecret(parts!.secret))).to.equal(true);
      seen.add(key);
    }
    expect(seen.size, 'no two alike').to.equal(200);
  });

  it('refuses anything not of that shape', () => {
    const { key } = generateKey();
    for (const bad of ['', 'trb_', key.slice(0, -1), `${key}x`, key.replace('trb_', 'TRB_'), key.replace(/^trb_([0-9a-f]{16})/, 'trb_XYZ'), ` ${key}`, `${key}\n`, key.replace(/_([^_]*)$/, '_!$1').slice(0, key.length)]) {
      expect(parseKey(bad), JSON.stringify(bad)).to.equal(undefined);
    }
  });

  it('does not match another secret or a hash of another length', () => {
    const a = generateKey();
    const b = generateKey();
    expect(secretMatches(parseKey(b.key)!.secret, a.secretHash)).to.equal(false);
    expect(secretMatches(parseKey(a.key)!.secret, a.secretHash.subarray(0, 16))).to.equal(false);
  });
});

describe('keys create input', () => {
  it('accepts names, known scopes (deduplicated) and an account UUID (lower-cased)', () => {
    expect(validateNewKey({ name: 'ci bot', scopes: ['read', 'write', 'read'], accountId: 'ABCDEF01-2345-6789-ABCD-EF0123456789' })).to.deep.equal({
      name: 'ci bot', scopes: ['read', 'write'], accountId: 'abcdef01-2345-6789-abcd-ef0123456789',
    });
  });

  for (const [input, message] of [
    [{ name: '', scopes: ['read'] }, /--name/],
    [{ name: 'x'.repeat(101), scopes: ['read'] }, /--name/],
    [{ name: "x'; DROP TABLE api_keys; --", scopes: ['read'] }, /--name/],
    [{ name: 'x', scopes: [] }, /--scopes must name/],
    [{ name: 'x', scopes: ['admin'] }, /unknown scope "admin"/],
    [{ name: 'x', scopes: ['read'], accountId: 'all' }, /--account must be an account id/],
  ] as const) {
    it(`refuses ${JSON.stringify(input).slice(0, 60)}`, () => {
      expect(() => validateNewKey({ ...input, scopes: [...input.scopes] })).to.throw(message);
    });
  }
});

describe('account access', () => {
  const id = 'abcdef01-2345-6789-abcd-ef0123456789';
  it('adds no condition for all accounts and one bound parameter for one', () => {
    expect(accessCondition({ kind: 'all' }, 'account_id')).to.deep.equal({ params: [] });
    expect(accessCondition({ kind: 'account', accountId: id }, 'o.account_id')).to.deep.equal({ sql: 'o.account_id = ?', params: [id] });
  });
  it('sees its own account whatever the case of the id, and no other', () => {
    expect(canSeeAccount({ kind: 'account', accountId: id }, id.toUpperCase())).to.equal(true);
    expect(canSeeAccount({ kind: 'account', accountId: id }, '00000000-0000-0000-0000-000000000000')).to.equal(false);
    expect(canSeeAccount({ kind: 'all' }, 'anything')).to.equal(true);
  });
});
