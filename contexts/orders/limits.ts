import { z } from 'zod';
import { readSettings, TooManyRequestsError, ValidationError, type Tx } from '@tributary/runtime';
import { MAX_PAYMENT_AMOUNT } from '../payments/contract';
import { OrderStatus } from './contract';

/**
 * The hard ceilings of an order, whatever the settings: what the order schema itself refuses
 * beyond (so the given/when/then tests and every path see them), chosen so that the payment
 * can always take the total (at most {@link MAX_PAYMENT_AMOUNT}).
 */
export const ORDER_CEILING = {
  lines: 100,
  unitsPerLine: 1000,
  units: 100_000,
  /** Price and tax of one unit. */
  unitAmount: 1_000_000,
  total: MAX_PAYMENT_AMOUNT,
} as const;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const schema = z.object({
  ORDER_MAX_LINES: int(1, ORDER_CEILING.lines).default(100),
  ORDER_MAX_UNITS_PER_LINE: int(1, ORDER_CEILING.unitsPerLine).default(1000),
  ORDER_MAX_UNITS: int(1, ORDER_CEILING.units).default(1000),
  ORDER_MAX_TOTAL: z.coerce.number().min(0.01).max(ORDER_CEILING.total).default(1_000_000),
  ORDERS_IN_FLIGHT_PER_ACCOUNT: int(1, 1_000_000).default(100),
  ORDER_UNITS_IN_FLIGHT_PER_ACCOUNT: int(1, 1_000_000_000).default(200),
});

/** What one order may hold, and how many of one account's orders may be in the saga at once. */
export interface OrderLimits {
  maxLines: number;
  maxUnitsPerLine: number;
  maxUnits: number;
  /** In currency units. */
  maxTotal: number;
  inFlightPerAccount: number;
  /**
   * Units (Σ quantity) of one account's orders in flight. The saga's work grows with units
   * (each is reserved, charged and sold), so this is what bounds the work one client queues
   * ahead of the others; an order is always accepted when the account has none in flight.
   */
  unitsInFlightPerAccount: number;
}

/** The limits from the environment (`config.env` in the web role); a bad value stops start-up. */
export function orderLimits(env: Readonly<Record<string, string | undefined>> = process.env): OrderLimits {
  const r = readSettings(schema, env);
  return {
    maxLines: r.ORDER_MAX_LINES,
    maxUnitsPerLine: r.ORDER_MAX_UNITS_PER_LINE,
    maxUnits: r.ORDER_MAX_UNITS,
    maxTotal: r.ORDER_MAX_TOTAL,
    inFlightPerAccount: r.ORDERS_IN_FLIGHT_PER_ACCOUNT,
    unitsInFlightPerAccount: r.ORDER_UNITS_IN_FLIGHT_PER_ACCOUNT,
  };
}

interface Line {
  quantity: number;
}

/**
 * 400 when an order is larger than the settings allow (lines, units of a line, units, total
 * in cents). The schema has already held it to {@link ORDER_CEILING}.
 */
export function checkOrderSize(lines: readonly Line[], totalCents: number, limits: OrderLimits): void {
  const issues: { path: string; message: string }[] = [];
  if (lines.length > limits.maxLines) issues.push({ path: 'lineItems', message: `an order holds at most ${limits.maxLines} line items (ORDER_MAX_LINES)` });
  lines.forEach((l, i) => {
    if (l.quantity > limits.maxUnitsPerLine) issues.push({ path: `lineItems.${i}.quantity`, message: `quantity must be at most ${limits.maxUnitsPerLine} (ORDER_MAX_UNITS_PER_LINE)` });
  });
  const units = lines.reduce((n, l) => n + l.quantity, 0);
  if (units > limits.maxUnits) issues.push({ path: 'lineItems', message: `an order holds at most ${limits.maxUnits} units in all, not ${units} (ORDER_MAX_UNITS)` });
  if (totalCents > Math.round(limits.maxTotal * 100)) {
    issues.push({ path: 'lineItems', message: `the order total ${(totalCents / 100).toFixed(2)} is over the limit of ${limits.maxTotal.toFixed(2)} (ORDER_MAX_TOTAL)` });
  }
  if (issues.length) throw new ValidationError(issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues);
}

/** Statuses after which an order no longer holds the saga. */
const TERMINAL = [OrderStatus.ORDER_SUCCEEDED, OrderStatus.ORDER_FAILED];

/** Seconds a client is asked to wait when its account is at the cap: about one order's saga. */
export const IN_FLIGHT_RETRY_AFTER_SECONDS = 1;

/**
 * 429 when the account already has `limits.inFlightPerAccount` orders not yet succeeded or
 * failed, or when this order's `units` would take its units in flight past
 * `limits.unitsInFlightPerAccount` (an order is accepted when none is in flight, however
 * large), so one client cannot fill the saga for everyone else. Runs in the transaction that
 * places the order, under a lock per account held until it commits: placements of one
 * account are counted one after the other, so the caps are exact (the read-model row of the
 * order is written in that same transaction).
 */
export async function checkOrdersInFlight(tx: Tx, accountId: string, units: number, limits: OrderLimits): Promise<void> {
  await tx.raw('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', [`orders-in-flight:${accountId}`]);
  const { rows } = await tx.raw<{ rows: { orders: number; units: string | null }[] }>(
    `SELECT count(*)::int AS orders,
            sum((SELECT sum((l->>'quantity')::int) FROM jsonb_array_elements(o.line_items) l)) AS units
       FROM orders o WHERE o.account_id = ? AND o.status <> ALL (?::text[])`,
    [accountId, TERMINAL],
  );
  const inFlight = rows[0].orders;
  const unitsInFlight = Number(rows[0].units ?? 0);
  if (inFlight >= limits.inFlightPerAccount) {
    throw new TooManyRequestsError(
      `Account ${accountId} has ${inFlight} orders in flight, the most allowed (ORDERS_IN_FLIGHT_PER_ACCOUNT=${limits.inFlightPerAccount}); retry when one has settled`,
      IN_FLIGHT_RETRY_AFTER_SECONDS,
      { name: 'ORDERS_IN_FLIGHT_PER_ACCOUNT', value: limits.inFlightPerAccount, current: inFlight },
    );
  }
  if (inFlight > 0 && unitsInFlight + units > limits.unitsInFlightPerAccount) {
    throw new TooManyRequestsError(
      `Account ${accountId} has ${unitsInFlight} units in flight; ${units} more would pass ORDER_UNITS_IN_FLIGHT_PER_ACCOUNT=${limits.unitsInFlightPerAccount}; retry when an order has settled`,
      IN_FLIGHT_RETRY_AFTER_SECONDS,
      { name: 'ORDER_UNITS_IN_FLIGHT_PER_ACCOUNT', value: limits.unitsInFlightPerAccount, current: unitsInFlight },
    );
  }
}
