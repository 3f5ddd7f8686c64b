import { expect } from 'chai';
import { ConcurrencyError } from '../errors';
import { appendToStream, loadStream, readAll, readStream, saveSnapshot } from './event-store';
import { IntHarness, ACTOR_TYPE, TOPIC, appendOne, countRows, envelope } from '../../test/support/int-fixtures';

const streamOf = (actorId: string) => `${ACTOR_TYPE}-${actorId}`;

describe('event store (Postgres)', function () {
  this.timeout(10_000);
  let h: IntHarness;

  before(async () => {
    h = await IntHarness.open('event_store');
  });
  after(async () => {
    await h?.close();
  });

  async function outboxIds(): Promise<string[]> {
    const { rows } = await h.db.raw<{ rows: { id: string }[] }>(`SELECT message->>'id' AS id FROM outbox`);
    return rows.map((r) => r.id);
  }

  it('appends at the expected version and writes the outbox row with it', async () => {
    const m1 = await appendOne(h.db, h.topology, 'ok', 0);
    const m2 = await appendOne(h.db, h.topology, 'ok', 1);
    const events = await readStream(h.db, streamOf('ok'));
    expect(events.map((e) => [e.version, e.eventId])).to.deep.equal([
      [1, m1.id],
      [2, m2.id],
    ]);
    expect(await outboxIds()).to.include.members([m1.id, m2.id]);
  });

  it('rejects a stale expected version with ConcurrencyError and writes nothing', async () => {
    await appendOne(h.db, h.topology, 'stale', 0);
    await appendOne(h.db, h.topology, 'stale', 1);
    const [eventsBefore, outboxBefore] = [await countRows(h.db, 'events'), await countRows(h.db, 'outbox')];

    const err = await appendOne(h.db, h.topology, 'stale', 1).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(ConcurrencyError);
    expect((err as ConcurrencyError).expectedVersion).to.equal(1);
    expect(await countRows(h.db, 'events')).to.equal(eventsBefore);
    expect(await countRows(h.db, 'outbox')).to.equal(outboxBefore);
    expect((await readStream(h.db, streamOf('stale'))).map((e) => e.version)).to.deep.equal([1, 2]);
  });

  it('lets exactly one of several concurrent appends at the same version win', async () => {
    // Each writer holds its transaction open after the insert, so the others really
    // collide on the unique (stream_id, version) index instead of running one after another.
    const writers = 5;
    for (let round = 0; round < 4; round++) {
      const actor = `race-${round}`;
      const results = await Promise.allSettled(
        Array.from({ length: writers }, () =>
          h.db.transaction(async (tx) => {
            const m = await appendOne(tx, h.topology, actor, 0);
            await tx.raw('SELECT pg_sleep(0.05)');
            return m;
          }),
        ),
      );
      const won = results.filter((r): r is PromiseFulfilledResult<Awaited<ReturnType<typeof appendOne>>> => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won, `round ${round}`).to.have.length(1);
      for (const l of lost) expect(l.reason).to.be.instanceOf(ConcurrencyError);

      const events = await readStream(h.db, streamOf(actor));
      expect(events.map((e) => [e.version, e.eventId])).to.deep.equal([[1, won[0].value.id]]);
      const { rows } = await h.db.raw<{ rows: { id: string }[] }>(`SELECT message->>'id' AS id FROM outbox WHERE message->'actor'->>'id' = ?`, [actor]);
      expect(rows.map((r) => r.id)).to.deep.equal([won[0].value.id]);
    }
  });

  it('loads the snapshot plus only the events after it', async () => {
    for (let v = 0; v < 5; v++) await appendOne(h.db, h.topology, 'snap', v);
    const before = await loadStream<{ total: number }>(h.db, streamOf('snap'));
    expect(before.snapshot).to.equal(undefined);
    expect(before.events.map((e) => e.version)).to.deep.equal([1, 2, 3, 4, 5]);

    await saveSnapshot(h.db, streamOf('snap'), 3, { total: 3 });
    const after = await loadStream<{ total: number }>(h.db, streamOf('snap'));
    expect(after.snapshot).to.deep.equal({ version: 3, state: { total: 3 } });
    expect(after.events.map((e) => e.version)).to.deep.equal([4, 5]);
    expect(after.events.every((e) => e.streamId === streamOf('snap') && (e.data as { n: number }).n === e.version)).to.equal(true);

    // An older snapshot arriving late never replaces a newer one.
    await saveSnapshot(h.db, streamOf('snap'), 2, { total: 2 });
    expect((await loadStream(h.db, streamOf('snap'))).snapshot).to.deep.equal({ version: 3, state: { total: 3 } });
  });

  it('commits events and outbox rows together or not at all', async () => {
    let appended: string | undefined;
    const rolledBack = await h.db
      .transaction(async (tx) => {
        appended = (await appendOne(tx, h.topology, 'atomic', 0)).id;
        // Visible inside the transaction...
        expect(await readStream(tx, streamOf('atomic'))).to.have.length(1);
        throw new Error('abort after append');
      })
      .then(
        () => false,
        (e: Error) => e.message === 'abort after append',
      );
    expect(rolledBack).to.equal(true);
    // ...and gone, event and outbox row alike, once it rolls back.
    expect(await readStream(h.db, streamOf('atomic'))).to.deep.equal([]);
    expect(await outboxIds()).not.to.include(appended);

    // The other way round: an outbox row that cannot be written takes its events with it.
    const message = envelope('atomic', 1);
    const failed = await appendToStream(h.db, {
      streamId: streamOf('atomic'),
      streamType: ACTOR_TYPE,
      expectedVersion: 0,
      events: [{ eventId: message.id, type: message.type, data: message.data }],
      metadata: { actorId: 'atomic', correlationId: message.id, causationId: message.id },
      outbox: [{ topic: null as unknown as string, partition: 0, message }],
    }).then(
      () => undefined,
      (e: { code?: string }) => e,
    );
    expect(failed?.code, 'not-null violation on outbox.topic').to.equal('23502');
    expect(await readStream(h.db, streamOf('atomic'))).to.deep.equal([]);

    // And a good append of the same stream then lands both.
    const ok = await appendOne(h.db, h.topology, 'atomic', 0);
    expect((await readStream(h.db, streamOf('atomic'))).map((e) => e.eventId)).to.deep.equal([ok.id]);
    const { rows } = await h.db.raw<{ rows: { topic: string }[] }>(`SELECT topic FROM outbox WHERE message->>'id' = ?`, [ok.id]);
    expect(rows).to.deep.equal([{ topic: TOPIC }]);
  });

  it('reads every event after a position, in position order, optionally of one type', async () => {
    const [start] = (await h.db.raw<{ rows: { p: string }[] }>('SELECT coalesce(max(position), 0) AS p FROM events')).rows;
    const a = await appendOne(h.db, h.topology, 'all-a', 0);
    const b = await appendOne(h.db, h.topology, 'all-b', 0);
    const c = await appendOne(h.db, h.topology, 'all-a', 1);
    const all = await readAll(h.db, Number(start.p));
    expect(all.map((e) => e.eventId)).to.deep.equal([a.id, b.id, c.id]);
    expect(all.map((e) => e.position)).to.deep.equal([...all.map((e) => e.position)].sort((x, y) => x - y));
    expect((await readAll(h.db, all[0].position)).map((e) => e.eventId)).to.deep.equal([b.id, c.id]);
    expect(await readAll(h.db, Number(start.p), 1000, 'no-such-type')).to.deep.equal([]);
    expect((await readAll(h.db, Number(start.p), 2)).length).to.equal(2);
  });
});
