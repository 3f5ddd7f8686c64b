import { selectPage, type Change, type Queryable, type Statement } from '../../runtime';
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

/** The order row, upserted by the same statement that appends the order's events. */
export function orderStatement(change: Change<OrderContext>): Statement {
  const { id, after } = change;
  const c = after.context;
  return {
    sql: `INSERT INTO orders (order_id, account_id, status, total_cents, line_items, shipping_address, warehouse_id, reservation_ids, payment_id, failure_reason, version)
          VALUES (?, ?, ?, ?, ?::jsonb, ?::jsonb, ?, ?::jsonb, ?, ?, ?)
          ON CONFLICT (order_id) DO UPDATE SET status = EXCLUDED.status, warehouse_id = EXCLUDED.warehouse_id,
            reservation_ids = EXCLUDED.reservation_ids, payment_id = EXCLUDED.payment_id, failure_reason = EXCLUDED.failure_reason,
            version = EXCLUDED.version, updated_at = now()`,
    bindings: [id, c.accountId, after.status, c.totalCents, JSON.stringify(c.lineItems), JSON.stringify(c.shippingAddress), c.warehouseId, JSON.stringify(c.reservationIds), c.paymentId, c.failureReason, after.version],
  };
}

export async function findOrder(db: Queryable, id: string): Promise<OrderView | undefined> {
  const { rows } = await db.raw<{ rows: OrderRow[] }>('SELECT * FROM orders WHERE order_id = ?', [id]);
  return rows[0] && toView(rows[0]);
}

export async function listOrders(db: Queryable, page: number, size: number, accountId?: string): Promise<{ items: OrderView[]; total: number }> {
  const filter = accountId ? { where: 'account_id = ?', params: [accountId] } : {};
  const { rows, total } = await selectPage<OrderRow>(db, { from: 'orders', ...filter, orderBy: 'created_at, order_id' }, page, size);
  return { items: rows.map(toView), total };
}
