import type { Queryable } from './database';

/** What an operator watches in Postgres: the outbox backlog and the durable timers, in one statement. */
export interface StoreBacklog {
  outbox: { backlog: number; oldestAgeMs: number | null };
  timers: { scheduled: number; due: number };
}

export async function storeBacklog(db: Queryable): Promise<StoreBacklog> {
  const { rows } = await db.raw<{ rows: { backlog: number; oldest_ms: number | null; scheduled: number; due: number }[] }>(
    `SELECT (SELECT count(*)::int FROM outbox) AS backlog,
            (SELECT (extract(epoch FROM now() - min(created_at)) * 1000)::float8 FROM outbox) AS oldest_ms,
            (SELECT count(*)::int FROM timers) AS scheduled,
            (SELECT count(*)::int FROM timers WHERE due_at <= now()) AS due`,
  );
  const r = rows[0];
  return { outbox: { backlog: r.backlog, oldestAgeMs: r.oldest_ms === null ? null : Math.max(0, Math.round(r.oldest_ms)) }, timers: { scheduled: r.scheduled, due: r.due } };
}

/** Aggregates per status from one read-model table (`table` and `status` come from code, never from a client). */
export async function countByStatus(db: Queryable, table: string, status: string): Promise<Record<string, number>> {
  const { rows } = await db.raw<{ rows: { status: string; n: number }[] }>(`SELECT ${quote(status)} AS status, count(*)::int AS n FROM ${quote(table)} GROUP BY 1 ORDER BY 1`);
  const out: Record<string, number> = {};
  for (const r of rows) out[r.status] = r.n;
  return out;
}

const quote = (ident: string) => `"${ident.replace(/"/g, '""')}"`;
