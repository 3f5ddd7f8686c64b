import { z } from 'zod';

/** An amount as its decimal text: digits, and at most 2 of them after the point. */
const DECIMAL = /^\d{1,13}(\.\d{1,2})?$/;

/**
 * Whether a number is an amount with at most 2 decimals, exactly: its shortest decimal
 * representation (what `String` gives, and what the client most likely sent) has at most 2
 * digits after the point. No tolerance: 0.000000001 and 0.1 + 0.2 (0.30000000000000004)
 * are refused, 19.99 (whose × 100 is 1998.9999999999998 in binary) is accepted.
 */
export function hasExactCents(amount: number): boolean {
  return Number.isFinite(amount) && DECIMAL.test(String(amount)) && Number.isInteger(Math.round(amount * 100));
}

/**
 * The amount in integer cents, computed from its decimal text so no binary rounding can creep
 * in (an amount with more decimals, which validation refuses, is rounded).
 */
export function centsOf(amount: number): number {
  if (!hasExactCents(amount)) return Math.round(amount * 100);
  const [units, fraction = ''] = String(amount).split('.');
  return Number(units) * 100 + Number(fraction.padEnd(2, '0'));
}

/**
 * A money field of an order line: a number, or a string such as "12.50", with at most 2
 * decimals exactly, between `min` and `max`. Either form is read into a number.
 */
export function moneySchema(field: string, min: number, max: number) {
  const atLeast = `${field} must be at least ${min.toFixed(2)}`;
  const atMost = `${field} must be at most ${max.toFixed(2)}`;
  const range = z.number().min(min, atLeast).max(max, atMost).refine(hasExactCents, `${field} must have at most 2 decimals`);
  return z
    .union(
      [
        // The bounds on the number too, so that the API document states them.
        z.number().min(min, atLeast).max(max, atMost),
        z.string().regex(DECIMAL, `${field} must be an amount with at most 2 decimals, such as "12.50"`).transform(Number),
      ],
      { error: `${field} must be a number (or a decimal string such as "12.50")` },
    )
    .pipe(range)
    .describe(`Currency units with at most 2 decimals (no rounding: 0.001 is refused), ${min.toFixed(2)} to ${max.toFixed(2)}`);
}
