/**
 * The shipping context's published language: what another context may import from it.
 */
export const SHIPMENT = 'shipment';
export const SHIPMENTS_PATH = '/v1/shipments';

/** A shipment as the read model holds it: one per succeeded order. */
export interface ShipmentView {
  shipmentId: string;
  orderId: string;
  status: 'SHIPMENT_REQUESTED';
  createdAt: string;
}
