/**
 * The expectations ledger: what the simulator expects of everything it sent, and how it went.
 * Orders stay here only while in flight; once terminal they are folded into counters, so
 * memory does not grow with the run's length.
 */
import { Histogram } from './histogram';

/** What an order was built to do. */
export type OrderKind = 'normal' | 'declined' | 'no-answer' | 'out-of-stock';
export const ORDER_KINDS: OrderKind[] = ['normal', 'declined', 'no-answer', 'out-of-stock'];

export type Terminal = 'ORDER_SUCCEEDED' | 'ORDER_FAILED';

export interface Expectation {
  status: Terminal;
  /** When failing, the failure reason must match this. */
  reason?: RegExp;
}

export interface PendingOrder {
  orderId: string;
  href: string;
  kind: OrderKind;
  expected: Expectation;
  postedAt: number;
  nextPollAt: number;
  polls: number;
  /** Units this order holds on the simulator's stock ledger (released if it fails). */
  units: Record<string, number>;
}

export interface KindCounts {
  placed: number;
  succeeded: number;
  failed: number;
  asExpected: number;
  unexpected: number;
}

const emptyCounts = (): KindCounts => ({ placed: 0, succeeded: 0, failed: 0, asExpected: 0, unexpected: 0 });

export class Ledger {
  readonly inFlight = new Map<string, PendingOrder>();
  readonly byKind = new Map<OrderKind, KindCounts>(ORDER_KINDS.map((k) => [k, emptyCounts()]));
  readonly latency = new Histogram();
  /** Per kind too: a declined or unanswered payment ends on other clocks than an ordinary order. */
  readonly latencyByKind = new Map<OrderKind, Histogram>(ORDER_KINDS.map((k) => [k, new Histogram()]));
  /** Checks other than orders (conflicts, malformed requests, set-up) that did not hold. */
  failedChecks = 0;
  passedChecks = 0;
  /** Orders whose POST was refused, or that never reached a terminal status in time. */
  lostOrders = 0;
  /** The last few unexpected things, for the summary (bounded). */
  readonly problems: string[] = [];

  placed(order: PendingOrder): void {
    this.inFlight.set(order.orderId, order);
    this.byKind.get(order.kind)!.placed += 1;
  }

  /** Records a terminal order against its expectation; returns whether it held. */
  settled(order: PendingOrder, status: Terminal, failureReason: string | undefined, now: number): boolean {
    this.inFlight.delete(order.orderId);
    const c = this.byKind.get(order.kind)!;
    if (status === 'ORDER_SUCCEEDED') c.succeeded += 1;
    else c.failed += 1;
    this.latency.record(now - order.postedAt);
    this.latencyByKind.get(order.kind)!.record(now - order.postedAt);
    const ok = status === order.expected.status && (status === 'ORDER_SUCCEEDED' || !order.expected.reason || order.expected.reason.test(failureReason ?? ''));
    if (ok) c.asExpected += 1;
    else {
      c.unexpected += 1;
      this.problem(`order ${order.orderId} (${order.kind}) ended ${status}${failureReason ? ` "${failureReason}"` : ''}, expected ${order.expected.status}${order.expected.reason ? ` ${order.expected.reason}` : ''}`);
    }
    return ok;
  }

  /** An order that did not reach a terminal status within the order timeout. */
  timedOut(order: PendingOrder): void {
    this.inFlight.delete(order.orderId);
    this.byKind.get(order.kind)!.unexpected += 1;
    this.lostOrders += 1;
    this.problem(`order ${order.orderId} (${order.kind}) was not terminal after ${Math.round((Date.now() - order.postedAt) / 1000)} s`);
  }

  /** Records a check other than an order's outcome. */
  check(ok: boolean, what: string): void {
    if (ok) this.passedChecks += 1;
    else {
      this.failedChecks += 1;
      this.problem(what);
    }
  }

  problem(message: string): void {
    this.problems.push(message);
    if (this.problems.length > 20) this.problems.shift();
  }

  totals(): KindCounts {
    const t = emptyCounts();
    for (const c of this.byKind.values()) for (const k of Object.keys(t) as (keyof KindCounts)[]) t[k] += c[k];
    return t;
  }
}
