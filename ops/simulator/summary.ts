/**
 * The end-of-run summary: requests by kind and status, orders by kind against their
 * expectations, latency from POST to the terminal status seen, and whether every
 * expectation held. The same object is printed as a table and written as JSON.
 */
import type { RequestStats } from './api';
import type { KindCounts, Ledger } from './ledger';
import type { Histogram } from './histogram';
import type { MemorySample } from './memory';

type Latency = { count: number; p50?: number; p95?: number; p99?: number; max?: number };

const latencyOf = (h: Histogram): Latency => ({ count: h.count, p50: h.percentile(50), p95: h.percentile(95), p99: h.percentile(99), max: h.count ? Math.round(h.max) : undefined });

export interface Summary {
  ok: boolean;
  elapsedSeconds: number;
  requests: { kind: string; status: string; count: number }[];
  requestsTotal: number;
  unexpectedServerErrors: number;
  accountsCreated: number;
  unitsAdded: number;
  skipped: Record<string, number>;
  orders: Record<string, KindCounts>;
  ordersTotal: KindCounts;
  ordersInFlight: number;
  abandoned: number;
  lost: number;
  checks: { passed: number; failed: number };
  latencyMs: Latency;
  latencyByKindMs: Record<string, Latency>;
  problems: string[];
  /** The simulator's own memory: now, its peak, and samples over the run. */
  memory: RunFacts['memory'];
}

export interface RunFacts {
  elapsedMs: number;
  accountsCreated: number;
  unitsAdded: number;
  skipped: Record<string, number>;
  abandoned: number;
  memory: { rssMb: number; heapUsedMb: number; peakRssMb: number; samples: MemorySample[] };
}

export function summarize(stats: RequestStats, ledger: Ledger, facts: RunFacts): Summary {
  const requests = [...stats.byKind.entries()]
    .flatMap(([kind, m]) => [...m.entries()].map(([status, count]) => ({ kind, status: status === 0 ? 'no answer' : String(status), count })))
    .sort((a, b) => a.kind.localeCompare(b.kind) || a.status.localeCompare(b.status));
  const total = ledger.totals();
  const ok = stats.unexpectedServerErrors === 0 && total.unexpected === 0 && ledger.failedChecks === 0 && facts.abandoned === 0 && ledger.inFlight.size === 0;
  return {
    ok,
    elapsedSeconds: Math.round(facts.elapsedMs / 100) / 10,
    requests,
    requestsTotal: stats.total,
    unexpectedServerErrors: stats.unexpectedServerErrors,
    accountsCreated: facts.accountsCreated,
    unitsAdded: facts.unitsAdded,
    skipped: facts.skipped,
    orders: Object.fromEntries(ledger.byKind),
    ordersTotal: total,
    ordersInFlight: ledger.inFlight.size,
    abandoned: facts.abandoned,
    lost: ledger.lostOrders,
    checks: { passed: ledger.passedChecks, failed: ledger.failedChecks },
    latencyMs: latencyOf(ledger.latency),
    latencyByKindMs: Object.fromEntries([...ledger.latencyByKind].map(([k, h]) => [k, latencyOf(h)])),
    problems: [...ledger.problems, ...stats.lastErrors],
    memory: facts.memory,
  };
}

function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [fmt(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(fmt)].join('\n');
}

const ms = (v: number | undefined) => (v === undefined ? '-' : `${v} ms`);

/** The summary as a person reads it. */
export function formatSummary(s: Summary): string {
  const out: string[] = [];
  out.push(`Simulation summary (${s.elapsedSeconds} s, ${s.accountsCreated} accounts created, ${s.unitsAdded} units added)`, '');
  out.push(table(['requests', 'status', 'count'], s.requests.map((r) => [r.kind, r.status, r.count])), '');
  const kinds = Object.entries(s.orders).filter(([, c]) => c.placed > 0);
  out.push(
    table(
      ['orders', 'placed', 'succeeded', 'failed', 'as expected', 'unexpected', 'p50', 'p99'],
      [
        ...kinds.map(([k, c]) => [k, c.placed, c.succeeded, c.failed, c.asExpected, c.unexpected, ms(s.latencyByKindMs[k]?.p50), ms(s.latencyByKindMs[k]?.p99)]),
        ['total', s.ordersTotal.placed, s.ordersTotal.succeeded, s.ordersTotal.failed, s.ordersTotal.asExpected, s.ordersTotal.unexpected, ms(s.latencyMs.p50), ms(s.latencyMs.p99)],
      ],
    ),
    '',
  );
  out.push(`latency POST→terminal (${s.latencyMs.count} orders): p50 ${ms(s.latencyMs.p50)}, p95 ${ms(s.latencyMs.p95)}, p99 ${ms(s.latencyMs.p99)}, max ${ms(s.latencyMs.max)}`);
  out.push(`checks (conflicts, malformed requests): ${s.checks.passed} held, ${s.checks.failed} failed; unexpected 5xx or unanswered requests: ${s.unexpectedServerErrors}`);
  out.push(`simulator memory: rss ${s.memory.rssMb} MB (peak ${s.memory.peakRssMb} MB), heap used ${s.memory.heapUsedMb} MB`);
  const skipped = Object.entries(s.skipped).filter(([, n]) => n > 0);
  if (skipped.length) out.push(`not sent: ${skipped.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  if (s.abandoned) out.push(`orders abandoned in flight (second Ctrl-C): ${s.abandoned}`);
  if (s.problems.length) out.push('', 'problems (last ones):', ...s.problems.map((p) => `  - ${p}`));
  out.push('', s.ok ? 'RESULT: every expectation held' : 'RESULT: FAILED, some expectations did not hold');
  return out.join('\n');
}
