/**
 * The simulator's view of the stock it may order against, so an order it expects to succeed
 * is never short of units. It is conservative on purpose:
 *
 *   free(p) = available(p) in the last snapshot − units of orders that may not be in it
 *
 * where the snapshot is the warehouse's counts (`GET …/inventory`: units per status) and the
 * orders subtracted are those in flight plus those settled after the snapshot was asked for
 * (their reservation may have happened after it). An order already counted by the snapshot is
 * subtracted twice at worst, which only makes the simulator wait; it never over-promises.
 */
export class StockLedger {
  private available = new Map<string, number>();
  private snapshotAskedAt = 0;
  /** Units of orders settled recently: kept until a snapshot asked for after they settled. */
  private recent: { at: number; units: Record<string, number> }[] = [];

  /** Takes a snapshot of counts (productId → status → units) asked for at `askedAt`. */
  snapshot(counts: Record<string, Record<string, number>>, askedAt: number): void {
    this.available = new Map(Object.entries(counts).map(([p, byStatus]) => [p, byStatus.RESERVATION_PENDING ?? 0]));
    this.snapshotAskedAt = askedAt;
    this.recent = this.recent.filter((r) => r.at >= askedAt);
  }

  settled(units: Record<string, number>, at: number): void {
    if (at >= this.snapshotAskedAt) this.recent.push({ at, units });
  }

  /** Units of `product` an order may still count on, given the units of the orders in flight. */
  free(product: string, inFlight: Iterable<Record<string, number>>): number {
    let n = this.available.get(product) ?? 0;
    for (const u of inFlight) n -= u[product] ?? 0;
    for (const r of this.recent) n -= r.units[product] ?? 0;
    return n;
  }

  /** Free units of every product at once (one pass over the orders in flight). */
  freeAll(products: string[], inFlight: Iterable<Record<string, number>>): Map<string, number> {
    const free = new Map(products.map((p) => [p, this.available.get(p) ?? 0]));
    const take = (u: Record<string, number>) => {
      for (const [p, q] of Object.entries(u)) if (free.has(p)) free.set(p, free.get(p)! - q);
    };
    for (const u of inFlight) take(u);
    for (const r of this.recent) take(r.units);
    return free;
  }
}
