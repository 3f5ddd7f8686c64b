/**
 * The shipping context's published language: what another context may import from it.
 */
import type { ShippingAddress } from '../../contexts/orders/contract';

export const SHIPMENT = 'shipment';
export const SHIPMENTS_PATH = '/v1/shipments';

/**
 * A shipment as the read model holds it: one per succeeded order, with what the order's
 * ORDER_SUCCEEDED carried. (An ORDER_SUCCEEDED written before the event carried the order's
 * summary has none: those fields are then null.)
 */
export interface ShipmentView {
  shipmentId: string;
  orderId: string;
  status: 'SHIPMENT_REQUESTED';
  accountId: string | null;
  shippingAddress: ShippingAddress | null;
  /** Units to ship: the sum of the order's line quantities. */
  units: number | null;
  /** The order's total, in currency units. */
  total: number | null;
  createdAt: string;
}
