import { expect } from 'chai';
import path from 'node:path';
import * as byName from '@tributary/runtime';
import * as bySource from '../index';
import { ValidationError } from '../errors';

/**
 * In development and tests, `@tributary/runtime` resolves to the runtime's SOURCE (tsconfig
 * `paths`, which tsx and tsc both honour), so a context importing the package by name and a
 * test importing a runtime module by relative path share one module instance: `instanceof`
 * and the runtime's registries would break with two copies.
 */
describe('@tributary/runtime resolution in development', () => {
  it('resolves the package name to runtime/index.ts, not to a build', () => {
    expect(require.resolve('@tributary/runtime')).to.equal(path.join(__dirname, '..', 'index.ts'));
  });

  it('gives the same classes by name and by relative path', () => {
    expect(byName.ValidationError).to.equal(bySource.ValidationError);
    const err = new byName.ValidationError('bad');
    expect(err).to.be.instanceOf(ValidationError);
    expect(new ValidationError('bad')).to.be.instanceOf(byName.TributaryError);
  });
});
