import type { Queryable } from '@tributary/runtime';

/**
 * The order saga's invariants across contexts. This is an operator's tool, so it reads the
 * read models of every context directly (the contexts' code never does).
 */
export async function checkSagaInvariants(db: Queryable, settleMs: number): Promise<string[]> {
  const violations: string[] = [];
  const q = async <T>(sql: string, args: (string | number)[] = []) => (await db.raw<{ rows: T[] }>(sql, args)).rows;

  for (const r of await q<{ order_id: string; status: string }>(
    `SELECT order_id, status FROM orders WHERE status NOT IN ('ORDER_SUCCEEDED', 'ORDER_FAILED') AND created_at < now() - (? * interval '1 millisecond')`,
    [settleMs],
  )) {
    violations.push(`order ${r.order_id}: not terminal after ${settleMs} ms (status ${r.status})`);
  }

  // A succeeded order has exactly one successful charge; a failed order has none that stands.
  for (const r of await q<{ order_id: string; status: string; approved: string }>(`
    SELECT o.order_id, o.status, count(c.*) FILTER (WHERE c.status = 'approved') AS approved
      FROM orders o
      LEFT JOIN payments p ON p.order_id = o.order_id
      LEFT JOIN payment_gateway_charges c ON c.payment_id = p.payment_id
     WHERE o.status IN ('ORDER_SUCCEEDED', 'ORDER_FAILED')
     GROUP BY o.order_id, o.status`)) {
    const approved = Number(r.approved);
    if (r.status === 'ORDER_SUCCEEDED' && approved !== 1) violations.push(`order ${r.order_id}: succeeded with ${approved} standing charges (expected 1)`);
    if (r.status === 'ORDER_FAILED' && approved !== 0) violations.push(`order ${r.order_id}: failed with ${approved} standing charge(s)`);
  }

  // A succeeded order's units are sold; a failed order holds no unit.
  for (const r of await q<{ order_id: string; status: string; unit_status: string; n: string }>(`
    SELECT o.order_id, o.status, i.status AS unit_status, count(*) AS n
      FROM orders o
      JOIN reservations r ON r.order_id = o.order_id
      JOIN inventory i ON i.reservation_id = r.reservation_id
     WHERE o.status IN ('ORDER_SUCCEEDED', 'ORDER_FAILED')
     GROUP BY o.order_id, o.status, i.status`)) {
    if (r.status === 'ORDER_SUCCEEDED' && r.unit_status !== 'INVENTORY_RESERVED') violations.push(`order ${r.order_id}: succeeded but ${r.n} unit(s) are ${r.unit_status}, not sold`);
    if (r.status === 'ORDER_FAILED' && r.unit_status !== 'RESERVATION_PENDING') violations.push(`order ${r.order_id}: failed but still holds ${r.n} unit(s) (${r.unit_status})`);
  }
  // A finished order has no deadline left (it would fire for nothing, forever).
  for (const r of await q<{ order_id: string; status: string }>(`
    SELECT o.order_id, o.status FROM orders o
      JOIN timers t ON t.actor_type = 'order' AND t.actor_id = o.order_id::text
     WHERE o.status IN ('ORDER_SUCCEEDED', 'ORDER_FAILED') AND o.updated_at < now() - (? * interval '1 millisecond')`, [settleMs])) {
    violations.push(`order ${r.order_id}: ${r.status} but a deadline timer is still set`);
  }
  return violations;
}
