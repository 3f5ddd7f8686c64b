import { z } from 'zod';
import { productIdSchema } from './contract';

/** The message for a value that is not an object; other issues (unknown keys) keep zod's message. */
const objectExpected = (message: string) => (i: { code?: string }) => (i.code === 'invalid_type' ? message : undefined);

/**
 * A required, trimmed, non-blank string of at most `max` characters. Blankness is a pattern
 * checked before the trim, so that the API document (which cannot trim) refuses it too.
 */
export const text = (field: string, max = 100) =>
  z
    .string({ error: (i) => (i.input === undefined ? `${field} is required` : `${field} must be a string`) })
    .regex(/\S/, `${field} is required`)
    .trim()
    .max(max, `${field} must be at most ${max} characters`);

export const uuid = (field: string) =>
  z.string({ error: (i) => (i.input === undefined ? `${field} is required` : `${field} must be a string`) }).pipe(z.uuid(`${field} must be a UUID`));

/** A product id (SKU): what order lines and inventory units name (the rule orders share, from the contract). */
export const productId = productIdSchema;

export const address = z
  .object(
    {
      street1: text('street1'),
      street2: z.string({ error: 'street2 must be a string' }).trim().max(100, 'street2 must be at most 100 characters').optional(),
      city: text('city'),
      state: text('state'),
      country: text('country'),
      zipCode: text('zipCode', 20),
    },
    { error: (i) => (i.code !== 'invalid_type' ? undefined : i.input === undefined ? 'address is required' : 'address must be an object') },
  )
  .strict();

/** `POST /v1/warehouses`. */
export const newWarehouse = z
  .object({ name: text('name').optional(), address }, { error: objectExpected('The body must be a JSON object') })
  .strict();

export const MAX_UNITS_PER_REQUEST = 1000;

/** `POST /v1/warehouses/{id}/inventory`: that many units of one product. */
export const newInventory = z
  .object(
    {
      productId,
      quantity: z
        .number({ error: (i) => (i.input === undefined ? 'quantity is required' : 'quantity must be a number') })
        .int('quantity must be a whole number')
        .min(1, 'quantity must be at least 1')
        .max(MAX_UNITS_PER_REQUEST, `quantity must be at most ${MAX_UNITS_PER_REQUEST}`)
        .default(1),
    },
    { error: objectExpected('The body must be a JSON object with productId') },
  )
  .strict();

/** What the saga sends with RESERVE_INVENTORY (contract ReserveInventoryData). */
export const reserveInventoryData = z.object({
  orderId: uuid('orderId'),
  lines: z
    .array(
      z.object({
        productId,
        quantity: z.number({ error: 'quantity must be a number' }).int('quantity must be a whole number').min(1, 'quantity must be at least 1').max(1_000_000, 'quantity must be at most 1000000'),
      }),
      { error: 'lines must be an array' },
    )
    .min(1, 'the order has no lines to reserve'),
});

/** RELEASE_INVENTORY and COMMIT_INVENTORY name the order (a reason for a release). */
export const orderCommandData = z.object({
  orderId: uuid('orderId'),
  reason: z.string().optional(),
});
