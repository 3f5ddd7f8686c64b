import { randomUUID } from 'node:crypto';
import type { Queryable } from '@tributary/runtime';
import type { OrderSummary, ShippingAddress } from '../../contexts/orders/contract';
import type { ShipmentView } from './contract';

interface ShipmentRow {
  shipment_id: string;
  order_id: string;
  status: ShipmentView['status'];
  account_id: string | null;
  ship_to: ShippingAddress | null;
  units: number | null;
  total: string | null;
  created_at: Date;
}

const view = (r: ShipmentRow): ShipmentView => ({
  shipmentId: r.shipment_id,
  orderId: r.order_id,
  status: r.status,
  accountId: r.account_id,
  shippingAddress: r.ship_to,
  units: r.units,
  total: r.total === null ? null : Number(r.total),
  createdAt: r.created_at.toISOString(),
});

/**
 * Requests the order's shipment, unless it has one: the unique order id makes a second
 * request for the same order a no-op. Returns whether this call created it.
 */
export async function requestShipment(q: Queryable, orderId: string, order: Partial<OrderSummary>): Promise<boolean> {
  const units = order.lineItems?.reduce((n, line) => n + line.quantity, 0) ?? null;
  const { rowCount } = await q.raw<{ rowCount: number }>(
    `INSERT INTO shipments (shipment_id, order_id, status, account_id, ship_to, units, total)
     VALUES (?, ?, 'SHIPMENT_REQUESTED', ?, ?, ?, ?) ON CONFLICT (order_id) DO NOTHING`,
    [randomUUID(), orderId, order.accountId ?? null, order.shippingAddress ? JSON.stringify(order.shippingAddress) : null, units, order.total ?? null],
  );
  return rowCount === 1;
}

/** The shipment of one order, if it has one. */
export async function findShipment(q: Queryable, orderId: string): Promise<ShipmentView | undefined> {
  const { rows } = await q.raw<{ rows: ShipmentRow[] }>('SELECT * FROM shipments WHERE order_id = ?', [orderId]);
  return rows[0] && view(rows[0]);
}

/** One page of shipments, oldest first, and how many there are. */
export async function listShipments(q: Queryable, page: number, size: number): Promise<{ items: ShipmentView[]; total: number }> {
  const { rows } = await q.raw<{ rows: ShipmentRow[] }>('SELECT * FROM shipments ORDER BY created_at, shipment_id LIMIT ? OFFSET ?', [size, page * size]);
  const { rows: count } = await q.raw<{ rows: { n: string }[] }>('SELECT count(*) AS n FROM shipments');
  return { items: rows.map(view), total: Number(count[0].n) };
}
