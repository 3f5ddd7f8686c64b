import { expect } from 'chai';
import { checkJsonValue, MAX_JSON_DEPTH, unstorable } from './json-body';
import { ValidationError } from '../errors';

describe('JSON bodies Postgres can store', () => {
  it('finds NUL and lone surrogates, and passes paired ones', () => {
    expect(unstorable('A\u0000B')).to.match(/NUL/);
    expect(unstorable('\ud800')).to.match(/lone UTF-16 surrogate/);
    expect(unstorable('x\udc00')).to.match(/lone UTF-16 surrogate/);
    expect(unstorable('\udbff\udbff\udc00')).to.match(/lone UTF-16 surrogate/);
    expect(unstorable('🙂 é \u202e')).to.equal(undefined);
  });

  it('names the path of a bad string, in keys too', () => {
    const err = (v: unknown) => {
      try {
        checkJsonValue(v);
      } catch (e) {
        expect(e).to.be.instanceOf(ValidationError);
        return (e as Error).message;
      }
      return undefined;
    };
    expect(err({ lineItems: [{ name: 'ok' }, { name: 'x\u0000' }] })).to.equal('The request body holds a NUL character (\\u0000) at lineItems[1].name');
    expect(err({ ['k\ud800']: 1 })).to.match(/A key .* lone UTF-16 surrogate/);
    expect(err(JSON.parse('{"a":{"__proto__":{"admin":true}}}'))).to.match(/"__proto__" key at a/);
    expect(err({ a: [1, 'two', { b: null }] })).to.equal(undefined);
  });

  it(`refuses nesting past ${MAX_JSON_DEPTH} levels without recursing`, () => {
    const deep = (n: number) => JSON.parse('['.repeat(n) + ']'.repeat(n));
    expect(() => checkJsonValue(deep(MAX_JSON_DEPTH))).to.not.throw();
    expect(() => checkJsonValue(deep(MAX_JSON_DEPTH + 1))).to.throw(/nested deeper than 32/);
    expect(() => checkJsonValue(deep(50_000))).to.throw(/nested deeper than 32/);
  });
});
