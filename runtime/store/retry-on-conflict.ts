import { ConcurrencyError } from '../errors';

/**
 * Runs `fn` again when it fails with {@link ConcurrencyError} (an actor changed under it, or a
 * cached state it decided on was stale), up to `attempts` runs in all; any other error, or a
 * conflict on the last run, is thrown. `fn` gets the run's number (1 on the first), e.g. to
 * use the cached states on the first run only: `db.transaction(fn, { optimistic: attempt === 1 })`.
 * Each run must be a whole transaction: a conflict is known only when it commits.
 */
export async function retryOnConflict<T>(fn: (attempt: number) => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (err instanceof ConcurrencyError && attempt < attempts) continue;
      throw err;
    }
  }
}
