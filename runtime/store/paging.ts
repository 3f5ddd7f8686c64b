import type { Queryable } from './database';

export interface PageQuery {
  /** Table (or join) to select from. */
  from: string;
  /** Filter with `?` placeholders; omitted = every row. */
  where?: string;
  params?: (string | number)[];
  /** A total order, so pages never overlap (end with the primary key). */
  orderBy: string;
}

/**
 * One page of rows and the total, in one round trip (`count(*) OVER ()`); a second query
 * counts only when the page is past the last row. `from`, `where` and `orderBy` are SQL
 * written by the caller, never client input.
 */
export async function selectPage<R>(db: Queryable, q: PageQuery, page: number, size: number): Promise<{ rows: R[]; total: number }> {
  const where = q.where ? `WHERE ${q.where}` : '';
  const params = q.params ?? [];
  const { rows } = await db.raw<{ rows: (R & { total: string })[] }>(
    `SELECT *, count(*) OVER () AS total FROM ${q.from} ${where} ORDER BY ${q.orderBy} LIMIT ? OFFSET ?`,
    [...params, size, page * size],
  );
  let total = rows.length ? Number(rows[0].total) : 0;
  if (rows.length === 0 && page > 0) {
    const c = await db.raw<{ rows: { n: string }[] }>(`SELECT count(*) AS n FROM ${q.from} ${where}`, params);
    total = Number(c.rows[0].n);
  }
  return { rows, total };
}
