import type { Tx } from './database';

const seen = new WeakMap<Tx, Set<string>>();

/**
 * Whether none of `keys` was named before in this transaction; names them. A consumer
 * batch's handler uses it to decide when a read may skip the flush ({@link Tx.readUnflushed}):
 * for the first message about an order, the batch's buffered writes are about other orders;
 * a second message about the same order (a re-sent command) must read after a flush, to see
 * what the first one did.
 */
export function firstInTransaction(tx: Tx, ...keys: string[]): boolean {
  let names = seen.get(tx);
  if (!names) seen.set(tx, (names = new Set()));
  let first = true;
  for (const key of keys) {
    if (names.has(key)) first = false;
    else names.add(key);
  }
  return first;
}

/** A statement of `tx`: after its buffered writes, or without them when `unflushed`. */
export function readIn<R>(tx: Tx, unflushed: boolean, sql: string, bindings: readonly unknown[]): Promise<R> {
  return unflushed ? tx.readUnflushed<R>(sql, bindings) : tx.raw<R>(sql, bindings);
}
