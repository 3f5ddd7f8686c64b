import { z } from 'zod';
import { defineAggregate } from '@tributary/runtime';
import { RESERVATION, RESERVATIONS_TOPIC } from './contract';
import { ReservationEventType as E } from './events';
import { reservationMachine, type ReservationContext, type ReservationEvent } from './reservation.machine';
import { productId, uuid } from './schemas';
import { ONE_RESERVATION_PER_UNIT, releaseAllocations, reservationRows } from './read-model';

const line = {
  orderId: uuid('orderId'),
  lineNo: z.number().int().min(0),
  productId,
  quantity: z.number().int().min(1),
};

const succeeded = z.object({ ...line, warehouseId: uuid('warehouseId'), inventoryIds: z.array(uuid('inventoryId')).min(1) }).strict();
const unavailable = z.object({ ...line, reason: z.string().min(1) }).strict();

type Succeeded = z.infer<typeof succeeded>;
type Unavailable = z.infer<typeof unavailable>;

/**
 * One reservation per order line. It is born decided: the saga's handler claims the units
 * first and records the outcome (succeeded with its units, or failed with the reason), so a
 * repeated RESERVE_INVENTORY finds it and answers the same. Internal commands only.
 */
export const reservationAggregate = defineAggregate<ReservationContext, ReservationEvent>({
  type: RESERVATION,
  topic: RESERVATIONS_TOPIC,
  machine: reservationMachine,
  commands: {
    reserve: {
      event: E.RESERVATION_CREATED,
      input: succeeded,
      creates: true,
      public: false,
      decide: (i: Succeeded): ReservationEvent[] => [
        { type: E.RESERVATION_CREATED, data: { orderId: i.orderId, lineNo: i.lineNo, productId: i.productId, quantity: i.quantity, warehouseId: i.warehouseId } },
        { type: E.RESERVATION_SUCCEEDED, data: { inventoryIds: i.inventoryIds } },
      ],
      rejection: (s) => (s.version > 0 ? 'The reservation already exists' : 'A reservation must hold exactly its quantity of distinct units'),
    },
    recordUnavailable: {
      event: E.RESERVATION_CREATED,
      input: unavailable,
      creates: true,
      public: false,
      decide: (i: Unavailable): ReservationEvent[] => [
        { type: E.RESERVATION_CREATED, data: { orderId: i.orderId, lineNo: i.lineNo, productId: i.productId, quantity: i.quantity, warehouseId: null } },
        { type: E.RESERVATION_FAILED, data: { reason: i.reason } },
      ],
      rejection: () => 'The reservation already exists',
    },
    releaseInventory: {
      event: E.RESERVATION_FAILED,
      input: z.object({ reason: z.string().trim().min(1, 'reason is required') }).strict(),
      public: false,
      rejection: () => 'Reservation is already in a failed state',
    },
  },
  projectRow: reservationRows,
  project: releaseAllocations,
  uniqueViolations: ONE_RESERVATION_PER_UNIT,
  readModel: { table: 'reservations', id: 'reservation_id', status: 'status', version: 'version' },
});
