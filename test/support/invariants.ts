/** The invariants of `npm run check`, asserted by end-to-end tests. */
import { expect } from 'chai';
import { createDb } from '../../runtime/store/database';
import { loadContexts } from '../../runtime/context';
import { runChecks } from '../../ops/check/run-checks';

/** Every check of `npm run check` passes on this database (nothing in flight is excused). */
export async function expectInvariants(databaseUrl: string): Promise<void> {
  const db = createDb(databaseUrl, 2);
  try {
    const report = await runChecks(db, loadContexts('all'), 0);
    const failed = report.checks.filter((c) => c.violations.length);
    expect(failed, JSON.stringify(failed, null, 2)).to.deep.equal([]);
  } finally {
    await db.destroy();
  }
}
