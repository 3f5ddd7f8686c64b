import { expect } from 'chai';
import { centsOf, hasExactCents, moneySchema } from '../money';
import { checkOrderSize, orderLimits } from '../limits';

describe('order money: exactly 2 decimals, no tolerance', () => {
  it('accepts amounts whose decimal form has at most 2 decimals, whatever their binary form', () => {
    for (const v of [0, 0.01, 0.1, 19.99, 1234567.89, 9999999999.99, 100]) expect(hasExactCents(v), String(v)).to.equal(true);
  });

  it('refuses more decimals, however small the excess, and non-finite numbers', () => {
    for (const v of [0.000000001, 0.1 + 0.2, 10.001, 0.005, 1e-7, 1e21, NaN, Infinity]) expect(hasExactCents(v), String(v)).to.equal(false);
  });

  it('counts cents from the decimal form: 19.99 is 1999, not 1998', () => {
    expect(centsOf(19.99)).to.equal(1999);
    expect(centsOf(0.07)).to.equal(7);
    expect(centsOf(1234567.89)).to.equal(123456789);
  });

  it('reads numbers and decimal strings, with the bounds and the message of the field', () => {
    const price = moneySchema('price', 0.01, 1_000_000);
    expect(price.parse('12.50')).to.equal(12.5);
    expect(price.parse(0.01)).to.equal(0.01);
    const issue = (v: unknown) => price.safeParse(v).error?.issues[0]?.message;
    expect(issue(0)).to.equal('price must be at least 0.01');
    expect(issue(0.000000001)).to.equal('price must be at least 0.01');
    expect(issue(0.1 + 0.2)).to.equal('price must have at most 2 decimals');
    expect(issue('0.00')).to.equal('price must be at least 0.01');
    expect(issue('1e3')).to.match(/price must be a number/);
    expect(issue(true)).to.match(/price must be a number/);
  });
});

describe('order size limits', () => {
  const limits = orderLimits({ ORDER_MAX_LINES: '2', ORDER_MAX_UNITS_PER_LINE: '5', ORDER_MAX_UNITS: '8', ORDER_MAX_TOTAL: '100' });

  it('takes an order within every limit', () => {
    expect(() => checkOrderSize([{ quantity: 5 }, { quantity: 3 }], 10_000, limits)).to.not.throw();
  });

  it('names the setting an order goes past', () => {
    expect(() => checkOrderSize([{ quantity: 1 }, { quantity: 1 }, { quantity: 1 }], 100, limits)).to.throw(/ORDER_MAX_LINES/);
    expect(() => checkOrderSize([{ quantity: 6 }], 100, limits)).to.throw(/ORDER_MAX_UNITS_PER_LINE/);
    expect(() => checkOrderSize([{ quantity: 5 }, { quantity: 4 }], 100, limits)).to.throw(/ORDER_MAX_UNITS\)/);
    expect(() => checkOrderSize([{ quantity: 1 }], 10_001, limits)).to.throw(/ORDER_MAX_TOTAL/);
  });

  it('refuses a total cap past what the payment can take', () => {
    expect(() => orderLimits({ ORDER_MAX_TOTAL: '10000000000' })).to.throw(/ORDER_MAX_TOTAL/);
  });
});
