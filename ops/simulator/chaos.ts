/**
 * The chaos plan: which order to send next and what it must end as, and the malformed
 * requests with the status each must get. Amounts follow the payment gateway simulator's
 * documented cents (contexts/payments/README.md): `.01` is declined, `.02` is never answered.
 * Ordinary orders use whole prices and a tax of 0.50, so their totals end in .00 or .50 and
 * never hit those rules.
 */
import type { Expectation, OrderKind } from './ledger';

export interface LineItem {
  productId: string;
  name: string;
  quantity: number;
  price: number;
  tax: number;
}

export const ADDRESS = { street1: '1 Main St', city: 'Springfield', state: 'OR', country: 'US', zipCode: '97477' };

export const EXPECTED: Record<OrderKind, Expectation> = {
  normal: { status: 'ORDER_SUCCEEDED' },
  declined: { status: 'ORDER_FAILED', reason: /declined/ },
  'no-answer': { status: 'ORDER_FAILED', reason: /no payment result|gateway unavailable/ },
  'out-of-stock': { status: 'ORDER_FAILED', reason: /SKU-OOS-/ },
};

export type Random = () => number;
const pick = <T>(items: T[], random: Random): T => items[Math.floor(random() * items.length)];
const between = (lo: number, hi: number, random: Random) => lo + Math.floor(random() * (hi - lo + 1));

/**
 * Which kind of order comes next: a failing one with probability `chaosShare` in chaos mode.
 * Given `turn` (the failing orders sent so far), the failing kinds come in turn rather than at
 * random, so that even a short run sends every kind.
 */
export function nextKind(chaos: boolean, chaosShare: number, random: Random, kinds: OrderKind[] = ['declined', 'no-answer', 'out-of-stock'], turn?: number): OrderKind {
  if (!chaos || kinds.length === 0 || random() >= chaosShare) return 'normal';
  return turn === undefined ? pick(kinds, random) : kinds[turn % kinds.length];
}

export interface LineOptions {
  minLines: number;
  maxLines: number;
  maxQuantity: number;
}

/**
 * The lines of an order of `kind`, drawn from products with enough free units, or undefined
 * when the stock cannot cover it yet (the simulator then waits for inventory). Never an empty
 * order, never a zero quantity.
 */
export function orderLines(kind: OrderKind, free: Map<string, number>, runId: string, o: LineOptions, random: Random): LineItem[] | undefined {
  if (kind === 'out-of-stock') {
    // A product no warehouse ever stocked: the reservation must fail, naming it.
    const productId = `SKU-OOS-${runId}`;
    return [{ productId, name: `Product ${productId}`, quantity: 1, price: 10, tax: 0.5 }];
  }
  const stocked = [...free.entries()].filter(([, n]) => n >= 1).map(([p]) => p);
  if (stocked.length === 0) return undefined;
  if (kind !== 'normal') {
    // One unit, no tax: the total's cents are the price's, .01 (declined) or .02 (no answer).
    const productId = pick(stocked, random);
    const price = between(5, 50, random) + (kind === 'declined' ? 0.01 : 0.02);
    return [{ productId, name: `Product ${productId}`, quantity: 1, price, tax: 0 }];
  }
  const lines: LineItem[] = [];
  const wanted = between(o.minLines, o.maxLines, random);
  const candidates = [...stocked];
  while (lines.length < wanted && candidates.length > 0) {
    const productId = candidates.splice(Math.floor(random() * candidates.length), 1)[0];
    const quantity = Math.min(between(1, o.maxQuantity, random), free.get(productId)!);
    lines.push({ productId, name: `Product ${productId}`, quantity, price: between(1, 100, random), tax: 0.5 });
  }
  return lines.length >= o.minLines ? lines : undefined;
}

/** Units per product an order holds. */
export function unitsOf(lines: LineItem[]): Record<string, number> {
  const units: Record<string, number> = {};
  for (const l of lines) units[l.productId] = (units[l.productId] ?? 0) + l.quantity;
  return units;
}

export interface MalformedRequest {
  name: string;
  method: string;
  path: string;
  body?: unknown;
  raw?: string;
  /** The 4xx it must get, as application/problem+json. */
  status: number;
}

/** The malformed requests, one after the other; `accountId` is an active account's id. */
export function malformedRequests(ordersHref: string, accountHref: string, accountId: string): MalformedRequest[] {
  const line = { productId: 'SKU-0', name: 'Product SKU-0', quantity: 1, price: 10, tax: 0.5 };
  return [
    { name: 'empty order', method: 'POST', path: ordersHref, body: { accountId, lineItems: [], shippingAddress: ADDRESS }, status: 400 },
    { name: 'negative quantity', method: 'POST', path: `${accountHref}/commands/postOrder`, body: { lineItems: [{ ...line, quantity: -1 }], shippingAddress: ADDRESS }, status: 400 },
    { name: 'unknown command', method: 'POST', path: `${accountHref}/commands/frobnicate`, body: {}, status: 404 },
    { name: 'non-UUID id', method: 'GET', path: `${ordersHref}/not-a-uuid`, status: 404 },
    { name: 'unparseable JSON', method: 'POST', path: ordersHref, raw: '{"accountId": ', status: 400 },
  ];
}
