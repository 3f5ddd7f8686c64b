import type { Tx } from '../store/database';
import type { Envelope } from './envelope';
import type { PartitionOwnership } from './partition-leases';

/** Handles one message inside the transaction that also records it in the inbox. */
export type MessageHandler = (message: Envelope, tx: Tx, delivery: Delivery) => Promise<void>;

export interface Delivery {
  /** 1 on the first try. */
  attempt: number;
  streamKey: string;
  entryId: string;
  /**
   * Runs `fn` once the handler's transaction has committed (e.g. queue a BullMQ job that
   * reads what the transaction wrote). Not run if it rolls back; lost if the process dies
   * right after the commit, so what it does must also be reachable by a retry of the
   * business step (a saga deadline re-sending the command).
   */
  afterCommit(fn: () => Promise<void>): void;
}

export interface ConsumerOptions {
  /** Consumer group; also the inbox key, so it must be stable across deployments. */
  group: string;
  topics: string[];
  handler: MessageHandler;
  batchSize: number;
  blockMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  claimIdleMs: number;
  /**
   * Partition ownership (leases with fencing tokens): the consumer reads only the partitions
   * it owns and checks the token in every transaction. Without it, it reads every partition.
   */
  ownership?: PartitionOwnership;
  consumerName?: string;
  /** Message types the handler wants; others are acknowledged without a transaction. */
  accepts?: (type: string) => boolean;
  /** Called after each commit (the handlers may have written outbox rows: wake the relays). */
  onCommitted?: () => void;
}

/**
 * Per partition since start: messages handled (committed and acknowledged), failed
 * attempts, messages dead-lettered. Plain numbers, read by the metrics at scrape time.
 */
export interface ConsumerCounts {
  handled: number[];
  failed: number[];
  deadLettered: number[];
}
