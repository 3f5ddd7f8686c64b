import type { Db } from '@tributary/runtime';
import { checkLogConsistency, type ContextPlugin } from '@tributary/runtime/operations';
import { checkSagaInvariants } from './saga-invariants';

export interface CheckReport {
  checks: { name: string; violations: string[] }[];
  ok: boolean;
}

/**
 * Every invariant the system promises: each aggregate's read model agrees with its event
 * log, each context's own invariants, and the order saga's across contexts.
 */
export async function runChecks(db: Db, plugins: ContextPlugin[], settleMs: number): Promise<CheckReport> {
  const checks: CheckReport['checks'] = [];
  checks.push({ name: 'every status change is in its event log', violations: await checkLogConsistency(db, plugins.flatMap((p) => p.aggregates ?? [])) });
  for (const p of plugins) if (p.invariants) checks.push({ name: `${p.name} invariants`, violations: await p.invariants(db) });
  const names = plugins.map((p) => p.name);
  if (['orders', 'warehouse', 'payments'].every((n) => names.includes(n))) {
    checks.push({ name: 'order saga invariants', violations: await checkSagaInvariants(db, settleMs) });
  }
  return { checks, ok: checks.every((c) => c.violations.length === 0) };
}
