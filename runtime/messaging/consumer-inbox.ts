import { writesOf, type Tx } from '../store/database';
import { LeaseLostError, type PartitionOwnership } from './partition-leases';

/**
 * The inbox: one row per (consumer group, message id), written in the transaction of the
 * message's effects, so that a message delivered again has no second effect.
 */
const INBOX_SQL = `INSERT INTO inbox (consumer, message_id) SELECT ?, unnest(?::uuid[]) ON CONFLICT DO NOTHING RETURNING message_id`;
const FENCED_INBOX_SQL = `
  WITH fence AS (SELECT token::int AS token FROM partition_owners WHERE consumer = $1 AND partition = $2 FOR SHARE),
  ins AS (
    INSERT INTO inbox (consumer, message_id)
    SELECT $1, unnest($3::uuid[]) WHERE (SELECT token FROM fence) = $4
    ON CONFLICT DO NOTHING RETURNING message_id
  )
  SELECT (SELECT token FROM fence) AS token, (SELECT array_agg(message_id)::text[] FROM ins) AS fresh`;

/**
 * The optimistic inbox: the batch's distinct message ids, recorded in the transaction's
 * write buffer with the partition's fence; both are written (and checked) by its one
 * statement, and a message handled before fails it (`DuplicateDeliveryError`).
 */
export function deliverLater(tx: Tx, group: string, partition: number, ids: string[], ownership?: PartitionOwnership): Set<string> {
  const fresh = new Set(ids);
  let fence;
  if (ownership) {
    const token = ownership.tokenOf(partition);
    if (token === undefined) throw new LeaseLostError(group, partition);
    fence = { consumer: group, partition, token, lost: () => new LeaseLostError(group, partition) };
  }
  writesOf(tx).deliver({ consumer: group, messageIds: [...fresh] }, fence);
  return fresh;
}

/**
 * Inserts the batch's inbox rows and returns the ids not seen before. With ownership, the
 * same statement checks the partition's fencing token under a FOR SHARE lock (a new owner's
 * token update waits for this transaction), so a stale owner writes nothing.
 */
export async function recordInInbox(tx: Tx, group: string, partition: number, ids: string[], ownership?: PartitionOwnership): Promise<Set<string>> {
  if (!ownership) {
    const { rows } = await tx.raw<{ rows: { message_id: string }[] }>(INBOX_SQL, [group, ids]);
    return new Set(rows.map((r) => r.message_id));
  }
  const token = ownership.tokenOf(partition);
  if (token === undefined) throw new LeaseLostError(group, partition);
  const { rows } = await tx.raw<{ rows: { token: number | null; fresh: string[] | null }[] }>(FENCED_INBOX_SQL, [group, partition, ids, token]);
  if (rows[0].token !== token) throw new LeaseLostError(group, partition);
  return new Set(rows[0].fresh ?? []);
}
