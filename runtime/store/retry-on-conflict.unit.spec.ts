import { expect } from 'chai';
import { retryOnConflict } from './retry-on-conflict';
import { ConcurrencyError, ConflictError } from '../errors';

describe('retryOnConflict', () => {
  it('runs once when the first run succeeds, numbering it 1', async () => {
    const runs: number[] = [];
    expect(await retryOnConflict(async (attempt) => (runs.push(attempt), 'done'))).to.equal('done');
    expect(runs).to.deep.equal([1]);
  });

  it('runs again after a ConcurrencyError, up to the attempts given, then throws the last conflict', async () => {
    const runs: number[] = [];
    const failing = retryOnConflict(async (attempt) => {
      runs.push(attempt);
      throw new ConcurrencyError('order-1', attempt);
    }, 4);
    const err = await failing.then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(ConcurrencyError);
    expect((err as ConcurrencyError).expectedVersion).to.equal(4);
    expect(runs).to.deep.equal([1, 2, 3, 4]);
  });

  it('returns what a later run returns', async () => {
    expect(await retryOnConflict(async (attempt) => {
      if (attempt < 3) throw new ConcurrencyError('order-1', 0);
      return attempt;
    })).to.equal(3);
  });

  it('does not run again after any other error (a 409 conflict of another kind included)', async () => {
    let runs = 0;
    const err = await retryOnConflict(async () => {
      runs++;
      throw new ConflictError('An account with the supplied email already exists');
    }).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(ConflictError);
    expect(runs).to.equal(1);
  });
});
