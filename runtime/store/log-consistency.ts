import type { Db } from './database';
import type { AggregateDefinition } from '../actors/aggregate';
import { fold, initialState } from '../actors/machine-state';

/**
 * "Every status change is in the aggregate's event log": folds every stream of each
 * aggregate through its machine and compares the result with its read model row.
 * Returns one line per violation (a log the machine refuses, or a row that disagrees).
 */
export async function checkLogConsistency(db: Db, definitions: AggregateDefinition[], limitPerType = 100_000): Promise<string[]> {
  const violations: string[] = [];
  for (const def of definitions) {
    if (!def.readModel) continue;
    const rm = def.readModel;
    const { rows } = await db.raw<{ rows: { id: string; status: string; version: number }[] }>(
      `SELECT ${rm.id}::text AS id, ${rm.status} AS status, ${rm.version} AS version FROM ${rm.table} LIMIT ?`,
      [limitPerType],
    );
    const rowById = new Map(rows.map((r) => [r.id, r]));
    const events = await db.raw<{ rows: { stream_id: string; version: number; type: string; data: unknown }[] }>(
      `SELECT stream_id, version, type, data FROM events WHERE stream_type = ? ORDER BY stream_id, version`,
      [def.type],
    );
    const byStream = new Map<string, { version: number; type: string; data: unknown }[]>();
    for (const e of events.rows) {
      let list = byStream.get(e.stream_id);
      if (!list) byStream.set(e.stream_id, (list = []));
      list.push(e);
    }
    const prefix = `${def.type}-`;
    for (const [streamId, log] of byStream) {
      const id = streamId.slice(prefix.length);
      let status: string;
      try {
        status = fold(def.machine, initialState(def.machine, id), log).status;
      } catch (err) {
        violations.push(`${def.type} ${id}: ${(err as Error).message}`);
        continue;
      }
      const row = rowById.get(id);
      if (!row) violations.push(`${def.type} ${id}: has events but no ${rm.table} row`);
      else if (row.status !== status || row.version !== log.length) {
        violations.push(`${def.type} ${id}: ${rm.table} says ${row.status} v${row.version}, its log says ${status} v${log.length}`);
      }
      rowById.delete(id);
    }
    for (const id of rowById.keys()) violations.push(`${def.type} ${id}: ${rm.table} row without events`);
  }
  return violations;
}
