import { accessCondition, selectPage, type AccountAccess, type AggregateState, type Change, type Queryable, type RowUpsert } from '@tributary/runtime';
import type { LineItem, OrderStatus } from './contract';
import type { OrderContext, ShippingAddress } from './order.machine';

interface OrderRow {
  order_id: string;
  account_id: string;
  status: OrderStatus;
  total_cents: string;
  line_items: LineItem[];
  shipping_address: ShippingAddress;
  warehouse_id: string | null;
  reservation_ids: string[];
  payment_id: string | null;
  failure_reason: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

/** An order as the API shows it. */
export interface OrderView {
  orderId: string;
  accountId: string;
  status: OrderStatus;
  total: number;
  lineItems: LineItem[];
  shippingAddress: ShippingAddress;
  warehouseId?: string;
  reservationIds: string[];
  paymentId?: string;
  failureReason?: string;
  version: number;
  createdAt: string;
  lastModified: string;
}

const toView = (r: OrderRow): OrderView => ({
  orderId: r.order_id,
  accountId: r.account_id,
  status: r.status,
  total: Number(r.total_cents) / 100,
  lineItems: r.line_items,
  shippingAddress: r.shipping_address,
  ...(r.warehouse_id ? { warehouseId: r.warehouse_id } : {}),
  reservationIds: r.reservation_ids,
  ...(r.payment_id ? { paymentId: r.payment_id } : {}),
  ...(r.failure_reason ? { failureReason: r.failure_reason } : {}),
  version: r.version,
  createdAt: r.created_at.toISOString(),
  lastModified: r.updated_at.toISOString(),
});

/** The order row, written with the order's events (one multi-row upsert per transaction). */
export function orderRow(change: Change<OrderContext>): RowUpsert {
  const { id, after } = change;
  const c = after.context;
  return {
    table: 'orders',
    key: ['order_id'],
    values: {
      order_id: id,
      account_id: c.accountId,
      status: after.status,
      total_cents: c.totalCents,
      line_items: c.lineItems,
      shipping_address: c.shippingAddress,
      warehouse_id: c.warehouseId,
      reservation_ids: c.reservationIds,
      payment_id: c.paymentId,
      failure_reason: c.failureReason,
      version: after.version,
    },
    update: ['status', 'warehouse_id', 'reservation_ids', 'payment_id', 'failure_reason', 'version'],
    touch: 'updated_at',
  };
}

/**
 * A new order as its row reads once written, from the order's state and the creating
 * transaction's timestamp (the row's created_at and updated_at): what POST answers, without
 * reading the row back.
 */
export function newOrderView(id: string, state: AggregateState<OrderContext>, at: Date): OrderView {
  const { values } = orderRow({ id, before: state, after: state, events: [] });
  return toView({ ...(values as Omit<OrderRow, 'created_at' | 'updated_at'>), created_at: at, updated_at: at });
}

/** The order with this id, if `access` reaches its account. */
export async function findOrder(db: Queryable, id: string, access: AccountAccess): Promise<OrderView | undefined> {
  const only = accessCondition(access, 'account_id');
  const { rows } = await db.raw<{ rows: OrderRow[] }>(`SELECT * FROM orders WHERE order_id = ?${only.sql ? ` AND ${only.sql}` : ''}`, [id, ...only.params]);
  return rows[0] && toView(rows[0]);
}

/** Does the order exist and belong to an account `access` reaches? */
export async function orderVisible(db: Queryable, id: string, access: AccountAccess): Promise<boolean> {
  const only = accessCondition(access, 'account_id');
  const { rows } = await db.raw<{ rows: unknown[] }>(`SELECT 1 FROM orders WHERE order_id = ?${only.sql ? ` AND ${only.sql}` : ''}`, [id, ...only.params]);
  return rows.length > 0;
}

/** The orders `access` reaches, one page (optionally of one account, in one status). */
export async function listOrders(db: Queryable, access: AccountAccess, page: number, size: number, accountId?: string, status?: string): Promise<{ items: OrderView[]; total: number }> {
  const where: string[] = [];
  const params: string[] = [];
  const only = accessCondition(access, 'account_id');
  if (only.sql) where.push(only.sql), params.push(...only.params);
  if (accountId) where.push('account_id = ?'), params.push(accountId);
  if (status) where.push('status = ?'), params.push(status);
  const filter = where.length ? { where: where.join(' AND '), params } : {};
  const { rows, total } = await selectPage<OrderRow>(db, { from: 'orders', ...filter, orderBy: 'created_at, order_id' }, page, size);
  return { items: rows.map(toView), total };
}
