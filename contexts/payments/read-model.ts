import { accessCondition, readIn, selectPage, type AccountAccess, type Change, type Queryable, type RowUpsert, type Tx } from '@tributary/runtime';
import type { PaymentStatus } from './contract';
import type { PaymentContext } from './payment.machine';
import { fromCents } from './money';

/** A payment as the API shows it. */
export interface PaymentView {
  paymentId: string;
  orderId: string;
  /** Null only for a payment cancelled before it was ever created. */
  amount: number | null;
  paymentMethod: string | null;
  status: PaymentStatus;
  failureReason?: string;
  version: number;
  createdAt: string;
  lastModified: string;
}

interface PaymentRow {
  payment_id: string;
  order_id: string;
  amount: string | null;
  payment_method: string | null;
  status: PaymentStatus;
  failure_reason: string | null;
  charge_id: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const toView = (r: PaymentRow): PaymentView => ({
  paymentId: r.payment_id,
  orderId: r.order_id,
  amount: r.amount === null ? null : Number(r.amount),
  paymentMethod: r.payment_method,
  status: r.status,
  ...(r.failure_reason ? { failureReason: r.failure_reason } : {}),
  version: r.version,
  createdAt: r.created_at.toISOString(),
  lastModified: r.updated_at.toISOString(),
});

/**
 * The payment row, upserted by the same statement that appends the payment's events. One
 * payment per order: a second payment id for the same order fails the whole command (no
 * event, no outbox row).
 */
export function paymentRow(change: Change<PaymentContext>): RowUpsert {
  const { id, after } = change;
  const c = after.context;
  return {
    table: 'payments',
    key: ['payment_id'],
    values: {
      payment_id: id,
      order_id: c.orderId,
      amount: c.amountCents === null ? null : fromCents(c.amountCents),
      payment_method: c.paymentMethod,
      status: after.status,
      failure_reason: c.failureReason,
      charge_id: c.chargeId,
      version: after.version,
    },
    update: ['status', 'failure_reason', 'charge_id', 'version'],
    touch: 'updated_at',
  };
}

/** One payment per order: a second one is a 409, not a 500. */
export const ONE_PAYMENT_PER_ORDER = { payments_order_unique: 'The order already has another payment' };

/**
 * The condition that limits payments to the accounts `access` reaches. A payment names its
 * order, and the order its account: the orders read model (same database) says whose it is.
 */
function accessOnPayments(access: AccountAccess): { sql?: string; params: string[] } {
  const only = accessCondition(access, 'account_id');
  return only.sql ? { sql: `order_id IN (SELECT order_id FROM orders WHERE ${only.sql})`, params: only.params } : only;
}

/** The payment with this id, if `access` reaches its order's account. */
export async function findPayment(db: Queryable, id: string, access: AccountAccess): Promise<PaymentView | undefined> {
  const only = accessOnPayments(access);
  const { rows } = await db.raw<{ rows: PaymentRow[] }>(`SELECT * FROM payments WHERE payment_id = ?${only.sql ? ` AND ${only.sql}` : ''}`, [id, ...only.params]);
  return rows[0] && toView(rows[0]);
}

/**
 * The payments that have this id or belong to this order (at most two rows: one payment per
 * order). `unflushed`: without first sending the transaction's buffered writes (`readIn`).
 */
export async function paymentsByIdOrOrder(tx: Tx, paymentId: string, orderId: string, unflushed = false): Promise<{ paymentId: string; orderId: string }[]> {
  const sql = 'SELECT payment_id, order_id FROM payments WHERE payment_id = ? OR order_id = ?';
  const { rows } = await readIn<{ rows: { payment_id: string; order_id: string }[] }>(tx, unflushed, sql, [paymentId, orderId]);
  return rows.map((r) => ({ paymentId: r.payment_id, orderId: r.order_id }));
}

/** The payment id already recorded for an order, if any. */
export async function paymentIdOfOrder(db: Queryable, orderId: string): Promise<string | undefined> {
  const { rows } = await db.raw<{ rows: { payment_id: string }[] }>('SELECT payment_id FROM payments WHERE order_id = ?', [orderId]);
  return rows[0]?.payment_id;
}

/** The payments `access` reaches, one page (optionally of one order, in one status). */
export async function listPayments(
  db: Queryable,
  access: AccountAccess,
  filter: { orderId?: string; status?: string },
  page: number,
  size: number,
): Promise<{ items: PaymentView[]; total: number }> {
  const conditions: string[] = [];
  const params: string[] = [];
  const only = accessOnPayments(access);
  if (only.sql) conditions.push(only.sql), params.push(...only.params);
  if (filter.orderId) conditions.push('order_id = ?'), params.push(filter.orderId);
  if (filter.status) conditions.push('status = ?'), params.push(filter.status);
  const where = conditions.length ? { where: conditions.join(' AND '), params } : {};
  const { rows, total } = await selectPage<PaymentRow>(db, { from: 'payments', ...where, orderBy: 'created_at, payment_id' }, page, size);
  return { items: rows.map(toView), total };
}
