import type { Queryable } from '@tributary/runtime';

/**
 * The payments invariants, checked against the read model and the gateway's ledger
 * (`payment_gateway_charges`, the simulator's books). Meant for a quiet system: while a
 * charge is being recorded or refunded, a check may see the moment in between.
 * Returns one line per violation; none means all hold.
 */
export async function checkPaymentInvariants(db: Queryable): Promise<string[]> {
  const problems: string[] = [];

  const perOrder = await db.raw<{ rows: { order_id: string; n: string }[] }>(
    `SELECT p.order_id, count(*) AS n
       FROM payment_gateway_charges c JOIN payments p ON p.payment_id = c.payment_id
      WHERE c.status = 'approved'
      GROUP BY p.order_id HAVING count(*) > 1`,
  );
  for (const r of perOrder.rows) problems.push(`order ${r.order_id} has ${r.n} approved, unrefunded charges (at most one may stand)`);

  const orphans = await db.raw<{ rows: { payment_id: string }[] }>(
    `SELECT c.payment_id FROM payment_gateway_charges c LEFT JOIN payments p ON p.payment_id = c.payment_id
      WHERE c.status = 'approved' AND p.payment_id IS NULL`,
  );
  for (const r of orphans.rows) problems.push(`an approved charge stands for payment ${r.payment_id}, which does not exist`);

  const succeeded = await db.raw<{ rows: { payment_id: string; status: string | null; matches: boolean }[] }>(
    `SELECT p.payment_id, c.status, (c.charge_id::text = p.charge_id) AS matches
       FROM payments p LEFT JOIN payment_gateway_charges c ON c.payment_id = p.payment_id
      WHERE p.status = 'PAYMENT_SUCCEEDED' AND (c.status IS DISTINCT FROM 'approved' OR c.charge_id::text IS DISTINCT FROM p.charge_id)`,
  );
  for (const r of succeeded.rows) {
    problems.push(
      r.status === 'approved'
        ? `payment ${r.payment_id} succeeded with a charge id other than the gateway's approved charge`
        : `payment ${r.payment_id} succeeded without an approved charge (gateway: ${r.status ?? 'no charge'})`,
    );
  }

  const failed = await db.raw<{ rows: { payment_id: string; charge_id: string }[] }>(
    `SELECT p.payment_id, c.charge_id FROM payments p JOIN payment_gateway_charges c ON c.payment_id = p.payment_id
      WHERE p.status = 'PAYMENT_FAILED' AND c.status = 'approved'`,
  );
  for (const r of failed.rows) problems.push(`payment ${r.payment_id} failed but its charge ${r.charge_id} stands (not refunded)`);

  return problems;
}
