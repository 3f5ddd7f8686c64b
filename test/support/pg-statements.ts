import pg from 'pg';

/**
 * Every statement sent on any pg connection while `fn` runs, in order: the driver's
 * `Client.query` is wrapped for that time only. (The pool sends nothing of its own: checking
 * a connection out or in is no statement.) `fn`'s outcome is returned settled, so that a test
 * can count the statements of a call that fails.
 */
export async function statementsOf<T>(fn: () => Promise<T>): Promise<{ statements: string[]; outcome: PromiseSettledResult<T> }> {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  const statements: string[] = [];
  proto.query = function (this: unknown, config: unknown, ...rest: unknown[]) {
    statements.push(typeof config === 'string' ? config : String((config as { text?: unknown }).text));
    return original.call(this, config, ...rest);
  };
  try {
    const [outcome] = await Promise.allSettled([fn()]);
    return { statements, outcome };
  } finally {
    proto.query = original;
  }
}

/** What `fn` resolved to, or its error thrown again. */
export function settled<T>(outcome: PromiseSettledResult<T>): T {
  if (outcome.status === 'rejected') throw outcome.reason;
  return outcome.value;
}
