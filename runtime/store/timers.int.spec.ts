/**
 * takeDueTimers against Postgres: due timers are returned and re-armed (not deleted), timers
 * not yet due are left alone, the limit holds, rows another poller has locked are skipped,
 * and the statement finds its rows through an index and their ctids, never by scanning the
 * whole table (which every saga step fills with dead rows).
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { TAKE_DUE_TIMERS, takeDueTimers, timerRow, type TimerRequest } from './timers';
import { IntHarness, ACTOR_TYPE, TOPIC } from '../../test/support/int-fixtures';

const REARM_MS = 30_000;

function timer(dueInMs: number, name = 'deadline'): TimerRequest {
  return { actor: { type: ACTOR_TYPE, id: randomUUID() }, name, topic: TOPIC, dueAt: new Date(Date.now() + dueInMs), data: { step: 'x' }, correlationId: randomUUID() };
}

describe('takeDueTimers (Postgres)', function () {
  this.timeout(30_000);
  let h: IntHarness;

  before(async () => {
    h = await IntHarness.open('timers');
  });
  after(async () => h?.close());
  beforeEach(async () => {
    await h.db.raw('DELETE FROM timers');
  });

  async function insert(...timers: TimerRequest[]): Promise<void> {
    await h.db.raw(
      `INSERT INTO timers (actor_type, actor_id, name, topic, due_at, data, correlation_id, traceparent, tracestate)
       SELECT * FROM jsonb_to_recordset(?::jsonb) AS t(actor_type text, actor_id text, name text, topic text, due_at timestamptz, data jsonb, correlation_id text, traceparent text, tracestate text)`,
      [JSON.stringify(timers.map(timerRow))],
    );
  }

  async function dueAtOf(t: TimerRequest): Promise<Date> {
    const { rows } = await h.db.raw<{ rows: { due_at: Date }[] }>('SELECT due_at FROM timers WHERE actor_type = ? AND actor_id = ? AND name = ?', [t.actor.type, t.actor.id, t.name]);
    return rows[0].due_at;
  }

  it('returns the due timers, oldest first within the limit, and re-arms them; later ones stay as they are', async () => {
    const due = [timer(-3_000), timer(-2_000), timer(-1_000)];
    const later = timer(60_000);
    await insert(...due, later);

    const before = Date.now();
    const taken = await takeDueTimers(h.db, 2, REARM_MS);
    expect(taken.map((t) => t.actor_id).sort()).to.deep.equal([due[0].actor.id, due[1].actor.id].sort());
    expect(taken[0]).to.include({ actor_type: ACTOR_TYPE, name: 'deadline', topic: TOPIC });
    expect(taken[0].data).to.deep.equal({ step: 'x' });
    for (const t of due.slice(0, 2)) expect((await dueAtOf(t)).getTime()).to.be.at.least(before + REARM_MS - 1_000);
    expect((await dueAtOf(later)).getTime()).to.equal(later.dueAt.getTime());

    // The rest on the next call; then nothing until the re-arm period has passed.
    expect((await takeDueTimers(h.db, 10, REARM_MS)).map((t) => t.actor_id)).to.deep.equal([due[2].actor.id]);
    expect(await takeDueTimers(h.db, 10, REARM_MS)).to.deep.equal([]);
  });

  it('skips a due timer another transaction has locked, and takes it once that transaction ends', async () => {
    const [locked, free] = [timer(-2_000), timer(-1_000)];
    await insert(locked, free);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let lockTaken!: () => void;
    const lockIsTaken = new Promise<void>((r) => (lockTaken = r));
    const holder = h.db.transaction(async (tx) => {
      await tx.raw('SELECT 1 FROM timers WHERE actor_id = ? FOR UPDATE', [locked.actor.id]);
      lockTaken();
      await held;
    });
    await lockIsTaken;
    expect((await takeDueTimers(h.db, 10, REARM_MS)).map((t) => t.actor_id)).to.deep.equal([free.actor.id]);
    release();
    await holder;
    expect((await takeDueTimers(h.db, 10, REARM_MS)).map((t) => t.actor_id)).to.deep.equal([locked.actor.id]);
  });

  it('finds its rows by index and ctid, not by scanning the table, however many rows it has', async () => {
    await insert(...Array.from({ length: 5_000 }, () => timer(60_000)));
    await insert(timer(-1_000));
    await h.db.raw('ANALYZE timers');
    const { rows } = await h.db.raw<{ rows: { 'QUERY PLAN': string }[] }>(`EXPLAIN ${TAKE_DUE_TIMERS}`, [REARM_MS, 100]);
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(plan).to.match(/Tid Scan on timers t/);
    expect(plan).not.to.match(/Seq Scan/);
    expect(await takeDueTimers(h.db, 100, REARM_MS)).to.have.length(1);
  });
});
