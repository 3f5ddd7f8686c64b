import { expect } from 'chai';
import type { Tx } from './database';
import { firstInTransaction } from './unflushed-reads';

describe('firstInTransaction', () => {
  const tx = () => ({}) as Tx;

  it('is true for keys the transaction has not named, false once any of them was named, per transaction', () => {
    const a = tx();
    const b = tx();
    expect(firstInTransaction(a, 'order:1', 'payment:1')).to.equal(true);
    expect(firstInTransaction(a, 'order:2', 'payment:2')).to.equal(true);
    expect(firstInTransaction(a, 'order:1'), 'the same order again').to.equal(false);
    expect(firstInTransaction(a, 'order:3', 'payment:2'), 'another order, but a payment seen before').to.equal(false);
    expect(firstInTransaction(a, 'order:3'), 'named by the call before, even though it answered false').to.equal(false);
    expect(firstInTransaction(b, 'order:1'), 'another transaction').to.equal(true);
  });
});
