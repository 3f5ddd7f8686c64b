/** The invariants of `npm run check`, asserted by end-to-end tests. */
import { expect } from 'chai';
import { createDb } from '../../runtime/store/database';
import { loadContexts } from '../../runtime/context';
import { runChecks } from '../../ops/check/run-checks';

/**
 * Every check of `npm run check` passes on this database (nothing in flight is excused).
 * With `withinMs`, the checks are repeated until they pass or the time is up: for a test in
 * which a compensation may still be finishing (a refund after a worker died mid-charge).
 */
export async function expectInvariants(databaseUrl: string, withinMs = 0): Promise<void> {
  const db = createDb(databaseUrl, 2);
  try {
    const deadline = Date.now() + withinMs;
    for (;;) {
      const report = await runChecks(db, loadContexts('all'), 0);
      const failed = report.checks.filter((c) => c.violations.length);
      if (failed.length === 0 || Date.now() >= deadline) {
        expect(failed, JSON.stringify(failed, null, 2)).to.deep.equal([]);
        return;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await db.destroy();
  }
}
