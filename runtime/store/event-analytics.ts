import type { Queryable } from './database';

/** Counts of one event type of one aggregate type per time bucket. */
export interface EventCounts {
  aggregateType: string;
  eventType: string;
  total: number;
  buckets: number[];
}

/**
 * Committed events per aggregate type, event type and bucket over the last window, in one
 * statement. The window ends at the end of the current bucket (`date_bin` over the epoch), so
 * consecutive calls share bucket boundaries; the range condition on `created_at` uses the
 * BRIN index (created_at follows the insertion order): the bounds are scalar subqueries, so
 * the scan's condition is known before it starts (as a join condition the planner scanned the
 * whole log). The LEFT JOIN returns the window's bounds even when no event falls in it.
 */
export async function eventCounts(db: Queryable, windowSeconds: number, bucketSeconds: number): Promise<{ from: Date; to: Date; series: EventCounts[] }> {
  const { rows } = await db.raw<{ rows: { from_: Date; to_: Date; stream_type: string | null; type: string | null; bucket: number | null; n: number }[] }>(
    `WITH b AS MATERIALIZED (
       SELECT to_ - make_interval(secs => ?) AS from_, to_
         FROM (SELECT date_bin(make_interval(secs => ?), now(), timestamptz 'epoch') + make_interval(secs => ?) AS to_) w
     ), c AS (
       SELECT e.stream_type, e.type, date_bin(make_interval(secs => ?), e.created_at, (SELECT from_ FROM b)) AS bin, count(*)::int AS n
         FROM events e
        WHERE e.created_at >= (SELECT from_ FROM b) AND e.created_at < (SELECT to_ FROM b)
        GROUP BY 1, 2, 3
     )
     SELECT b.from_, b.to_, c.stream_type, c.type, (extract(epoch FROM c.bin - b.from_) / ?)::int AS bucket, c.n
       FROM b LEFT JOIN c ON true
      ORDER BY c.stream_type, c.type, bucket`,
    [windowSeconds, bucketSeconds, bucketSeconds, bucketSeconds, bucketSeconds],
  );
  const size = Math.round(windowSeconds / bucketSeconds);
  const series = new Map<string, EventCounts>();
  for (const r of rows) {
    if (r.stream_type === null || r.type === null || r.bucket === null) continue;
    const key = `${r.stream_type}/${r.type}`;
    let s = series.get(key);
    if (!s) series.set(key, (s = { aggregateType: r.stream_type, eventType: r.type, total: 0, buckets: new Array<number>(size).fill(0) }));
    if (r.bucket >= 0 && r.bucket < size) s.buckets[r.bucket] += r.n;
    s.total += r.n;
  }
  return { from: rows[0].from_, to: rows[0].to_, series: [...series.values()] };
}
