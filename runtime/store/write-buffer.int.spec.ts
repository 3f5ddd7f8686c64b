/**
 * The write buffer against Postgres: what a transaction buffers goes out as ONE statement,
 * flushed before any other statement of the transaction (which then runs under BEGIN) and at
 * commit; a check that fails (stale version, stale cached read, duplicate delivery, lost
 * fence, unique violation) writes nothing of the transaction; savepoints drop what they
 * buffered when they roll back.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { ConcurrencyError, ConflictError } from '../errors';
import type { Envelope } from '../messaging/envelope';
import { readStream } from './event-store';
import { DuplicateDeliveryError, isDeferredWriteError, registerConflictMessages, type BufferedAppend, type RowUpsert } from './write-buffer';
import { writesOf } from './database';
import { IntHarness, ACTOR_TYPE, TOPIC, appendOne, envelope } from '../../test/support/int-fixtures';
import { statementsOf } from '../../test/support/pg-statements';

const streamOf = (actorId: string) => `${ACTOR_TYPE}-${actorId}`;

/** The read-model table of these tests: a unique index on a non-key column for the conflict mapping. */
const TABLE = 'wb_rows';
const EMAIL_UNIQUE = 'wb_rows_email_unique';
const CODE_UNIQUE = 'wb_rows_code_unique';

interface Row {
  id: string;
  name: string;
  email: string;
  n: number;
  created_at: Date;
  updated_at: Date;
}

/** An upsert of one wb_rows row: name and n are overwritten, email keeps its first value. */
function rowUpsert(id: string, name: string, n: number, email = `${id}@example.test`): RowUpsert {
  return { table: TABLE, key: ['id'], values: { id, name, email, n }, update: ['name', 'n'], touch: 'updated_at' };
}

/** Settles `p` and returns its rejection (or fails the test if it resolved). */
async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => expect.fail('expected a rejection'),
    (err: Error) => err,
  );
}

describe('write buffer (Postgres)', function () {
  this.timeout(10_000);
  let h: IntHarness;

  before(async () => {
    h = await IntHarness.open('write_buffer');
    await h.db.raw(`
      CREATE TABLE ${TABLE} (
        id         uuid PRIMARY KEY,
        name       text NOT NULL,
        email      text NOT NULL,
        n          integer NOT NULL,
        code       text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX ${EMAIL_UNIQUE} ON ${TABLE} (email);
      CREATE UNIQUE INDEX ${CODE_UNIQUE} ON ${TABLE} (code);
    `);
  });
  after(async () => {
    await h?.close();
  });

  /**
   * `count` events appended to a new or existing actor's stream at `expectedVersion`, each
   * with its outbox message (the envelope id is the event id, as actors do it).
   */
  function draft(actorId: string, expectedVersion: number, count = 1, row?: RowUpsert): BufferedAppend & { messages: Envelope[] } {
    const messages = Array.from({ length: count }, (_, i) => envelope(actorId, expectedVersion + i + 1, { n: expectedVersion + i + 1 }));
    return {
      streamId: streamOf(actorId),
      streamType: ACTOR_TYPE,
      expectedVersion,
      events: messages.map((m) => ({ eventId: m.id, type: m.type, data: m.data })),
      metadata: { actorId, correlationId: messages[0].correlationId, causationId: messages[0].causationId },
      outbox: messages.map((message) => ({ topic: TOPIC, partition: h.topology.partitionOf(actorId), message })),
      rows: row ? [row] : undefined,
      messages,
    };
  }

  /** A command-like message bound for another actor (what `writes.send` takes). */
  function outgoing(actorId = randomUUID()) {
    const message = envelope(actorId, 0, { command: true }, 'DoThing');
    return { topic: TOPIC, partition: h.topology.partitionOf(actorId), message };
  }

  async function versionsOf(actorId: string): Promise<number[]> {
    return (await readStream(h.db, streamOf(actorId))).map((e) => e.version);
  }

  /** Which of these message ids have an outbox row. */
  async function inOutbox(ids: string[]): Promise<string[]> {
    const { rows } = await h.db.raw<{ rows: { id: string }[] }>(`SELECT message->>'id' AS id FROM outbox WHERE message->>'id' = ANY(?::text[]) ORDER BY id`, [ids]);
    return rows.map((r) => r.id);
  }

  async function rowOf(id: string): Promise<Row | undefined> {
    const { rows } = await h.db.raw<{ rows: Row[] }>(`SELECT id, name, email, n, created_at, updated_at FROM ${TABLE} WHERE id = ?`, [id]);
    return rows[0];
  }

  async function inboxOf(consumer: string): Promise<string[]> {
    const { rows } = await h.db.raw<{ rows: { id: string }[] }>('SELECT message_id::text AS id FROM inbox WHERE consumer = ? ORDER BY id', [consumer]);
    return rows.map((r) => r.id);
  }

  async function timerOf(actorId: string, name: string) {
    const { rows } = await h.db.raw<{ rows: { topic: string; due_at: Date; data: unknown; correlation_id: string }[] }>(
      'SELECT topic, due_at, data, correlation_id FROM timers WHERE actor_type = ? AND actor_id = ? AND name = ?',
      [ACTOR_TYPE, actorId, name],
    );
    return rows[0];
  }

  it('writes appends to three streams, sent messages, a timer schedule and cancel, and two rows in one statement without BEGIN or COMMIT', async () => {
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    await appendOne(h.db, h.topology, b, 0);
    await appendOne(h.db, h.topology, b, 1); // b is at version 2
    const dueAt = new Date(Date.now() + 60_000);
    await h.db.transaction(async (tx) => writesOf(tx).schedule({ actor: { type: ACTOR_TYPE, id: c }, name: 'old', topic: TOPIC, dueAt, correlationId: c }));
    const [rowA, rowB] = [randomUUID(), randomUUID()];
    const appendA = draft(a, 0, 2, rowUpsert(rowA, 'row a', 1));
    const appendB = draft(b, 2, 1, rowUpsert(rowB, 'row b', 2));
    const appendC = draft(c, 0, 1);
    const sent = [outgoing(), outgoing()];

    const { statements, outcome } = await statementsOf(() =>
      h.db.transaction(async (tx) => {
        writesOf(tx).append(appendA, { at: 'a' });
        writesOf(tx).append(appendB, { at: 'b' });
        writesOf(tx).append(appendC, { at: 'c' });
        writesOf(tx).send(sent);
        writesOf(tx).schedule({ actor: { type: ACTOR_TYPE, id: a }, name: 'new', topic: TOPIC, dueAt, data: { step: 1 }, correlationId: a });
        writesOf(tx).cancel({ type: ACTOR_TYPE, id: c }, 'old');
      }),
    );
    expect(outcome.status, String((outcome as PromiseRejectedResult).reason)).to.equal('fulfilled');
    // The flush at commit is the whole transaction: autocommitted, so no BEGIN/COMMIT round trips.
    expect(statements).to.have.length(1);
    expect(statements[0]).to.match(/^WITH /);

    const events = await readStream(h.db, streamOf(a));
    expect(events.map((e) => [e.version, e.eventId, e.streamType, e.type])).to.deep.equal(appendA.messages.map((m, i) => [i + 1, m.id, ACTOR_TYPE, m.type]));
    expect(events[0].metadata).to.deep.equal(appendA.metadata);
    expect(events[1].data).to.deep.equal({ n: 2 });
    const eventsB = await readStream(h.db, streamOf(b));
    expect(eventsB.map((e) => [e.version, e.eventId])).to.deep.equal([
      [1, eventsB[0].eventId],
      [2, eventsB[1].eventId],
      [3, appendB.messages[0].id],
    ]);
    expect(eventsB[2].metadata).to.deep.equal(appendB.metadata);
    expect(await versionsOf(c)).to.deep.equal([1]);

    const ids = [...appendA.messages, ...appendB.messages, ...appendC.messages, ...sent.map((s) => s.message)].map((m) => m.id);
    expect(await inOutbox(ids)).to.deep.equal([...ids].sort());

    const timer = await timerOf(a, 'new');
    expect(timer).to.deep.include({ topic: TOPIC, data: { step: 1 }, correlation_id: a });
    expect(timer.due_at.getTime()).to.equal(dueAt.getTime());
    expect(await timerOf(c, 'old'), 'cancelled').to.equal(undefined);

    expect(await rowOf(rowA)).to.deep.include({ name: 'row a', n: 1 });
    expect(await rowOf(rowB)).to.deep.include({ name: 'row b', n: 2 });
  });

  it('writes only the last of two upserts of the same row', async () => {
    const actor = randomUUID();
    const id = randomUUID();
    // Two changes of one row in one multi-row upsert would fail ("cannot affect row a second time"): only the last goes.
    await h.db.transaction(async (tx) => {
      writesOf(tx).append(draft(actor, 0, 1, rowUpsert(id, 'first', 1)), {});
      writesOf(tx).append(draft(actor, 1, 1, rowUpsert(id, 'second', 2)), {});
    });
    const { rows } = await h.db.raw<{ rows: Row[] }>(`SELECT name, n FROM ${TABLE} WHERE id = ?`, [id]);
    expect(rows).to.deep.equal([{ name: 'second', n: 2 }]);
    expect(await versionsOf(actor)).to.deep.equal([1, 2]);
  });

  it('changes only the update columns of an existing row and sets its touch column to now()', async () => {
    const id = randomUUID();
    const old = new Date('2000-01-01T00:00:00Z');
    await h.db.raw(`INSERT INTO ${TABLE} (id, name, email, n, created_at, updated_at) VALUES (?, 'before', ?, 1, ?, ?)`, [id, `${id}@first.test`, old, old]);

    await h.db.transaction(async (tx) => {
      writesOf(tx).append(draft(randomUUID(), 0, 1, rowUpsert(id, 'after', 2, `${id}@second.test`)), {});
    });
    const row = (await rowOf(id))!;
    expect(row).to.deep.include({ name: 'after', n: 2, email: `${id}@first.test` });
    expect(row.created_at.getTime(), 'not an update column').to.equal(old.getTime());
    const [{ now }] = (await h.db.raw<{ rows: { now: Date }[] }>('SELECT now() AS now')).rows;
    expect(now.getTime() - row.updated_at.getTime()).to.be.within(0, 5_000);
  });

  it('flushes buffered writes before another statement, under BEGIN, so the transaction reads them and rolls them back with it', async () => {
    const actor = randomUUID();
    const append = draft(actor, 0, 2);
    let seen: number | undefined;
    const { statements, outcome } = await statementsOf(() =>
      h.db.transaction(async (tx) => {
        writesOf(tx).append(append, {});
        const { rows } = await tx.raw<{ rows: { n: number }[] }>('SELECT count(*)::int AS n FROM events WHERE stream_id = ?', [streamOf(actor)]);
        seen = rows[0].n;
        throw new Error('after the read');
      }),
    );
    expect((outcome as PromiseRejectedResult).reason?.message).to.equal('after the read');
    expect(seen, 'the read sees its own buffered append').to.equal(2);
    expect(statements.map((s) => s.split(/\s/)[0])).to.deep.equal(['BEGIN', 'WITH', 'SELECT', 'ROLLBACK']);
    // One transaction: the append went with the rollback.
    expect(await versionsOf(actor)).to.deep.equal([]);
    expect(await inOutbox(append.messages.map((m) => m.id))).to.deep.equal([]);
  });

  it('readUnflushed runs under BEGIN without sending the buffered writes: it does not see them; the next raw and the commit do', async () => {
    const actor = randomUUID();
    const append = draft(actor, 0, 2);
    const counts: number[] = [];
    const count = async (read: (sql: string, b: unknown[]) => Promise<{ rows: { n: number }[] }>) =>
      counts.push((await read('SELECT count(*)::int AS n FROM events WHERE stream_id = ?', [streamOf(actor)])).rows[0].n);
    const { statements } = await statementsOf(() =>
      h.db.transaction(async (tx) => {
        writesOf(tx).append(append, {});
        await count((sql, b) => tx.readUnflushed(sql, b));
        await count((sql, b) => tx.raw(sql, b));
      }),
    );
    expect(counts, 'unflushed read, then a read after the flush').to.deep.equal([0, 2]);
    expect(statements.map((s) => s.split(/\s/)[0])).to.deep.equal(['BEGIN', 'SELECT', 'WITH', 'SELECT', 'COMMIT']);
    expect(await versionsOf(actor)).to.deep.equal([1, 2]);
  });

  it('fails the commit with ConcurrencyError naming the stream of a stale expected version, and writes nothing of the transaction', async () => {
    const [stale, other] = [randomUUID(), randomUUID()];
    await appendOne(h.db, h.topology, stale, 0);
    const otherAppend = draft(other, 0, 1, rowUpsert(randomUUID(), 'x', 1));
    const staleAppend = draft(stale, 0, 1);
    const sent = outgoing();

    const err = await rejection(
      h.db.transaction(async (tx) => {
        writesOf(tx).append(otherAppend, {});
        writesOf(tx).append(staleAppend, {});
        writesOf(tx).send([sent]);
      }),
    );
    expect(err).to.be.instanceOf(ConcurrencyError);
    expect((err as ConcurrencyError).streamId).to.equal(streamOf(stale));
    expect((err as ConcurrencyError).expectedVersion).to.equal(0);
    expect(await versionsOf(stale)).to.deep.equal([1]);
    expect(await versionsOf(other)).to.deep.equal([]);
    expect(await inOutbox([...otherAppend.messages, ...staleAppend.messages, sent.message].map((m) => m.id))).to.deep.equal([]);
    expect(await rowOf(otherAppend.rows![0].values.id as string)).to.equal(undefined);
  });

  describe('optimistic reads', () => {
    it('fails the commit with ConcurrencyError, writing nothing, when a stream read at v has moved past v', async () => {
      const [read, written] = [randomUUID(), randomUUID()];
      await appendOne(h.db, h.topology, read, 0);
      const append = draft(written, 0, 1);
      const err = await rejection(
        h.db.transaction(async (tx) => {
          writesOf(tx).optimistic = true;
          writesOf(tx).readAt(streamOf(read), 1);
          await appendOne(h.db, h.topology, read, 1); // another transaction moves it to 2
          writesOf(tx).append(append, {});
        }),
      );
      expect(err).to.be.instanceOf(ConcurrencyError);
      expect((err as ConcurrencyError).streamId).to.equal(streamOf(read));
      expect((err as ConcurrencyError).expectedVersion).to.equal(1);
      expect(await versionsOf(written)).to.deep.equal([]);
      expect(await inOutbox(append.messages.map((m) => m.id))).to.deep.equal([]);
    });

    it('fails the commit of a transaction that only read a stream that has moved on', async () => {
      const read = randomUUID();
      await appendOne(h.db, h.topology, read, 0);
      const err = await rejection(
        h.db.transaction(async (tx) => {
          writesOf(tx).readAt(streamOf(read), 1);
          await appendOne(h.db, h.topology, read, 1);
        }),
      );
      expect(err).to.be.instanceOf(ConcurrencyError);
    });

    it('commits when the stream read is still at the version read', async () => {
      const [read, written] = [randomUUID(), randomUUID()];
      await appendOne(h.db, h.topology, read, 0);
      await h.db.transaction(async (tx) => {
        writesOf(tx).optimistic = true;
        writesOf(tx).readAt(streamOf(read), 1);
        writesOf(tx).append(draft(written, 0), {});
      });
      expect(await versionsOf(written)).to.deep.equal([1]);
    });

    it('does not report a stream stale because of its own append after the read', async () => {
      const actor = randomUUID();
      await appendOne(h.db, h.topology, actor, 0);
      await h.db.transaction(async (tx) => {
        writesOf(tx).optimistic = true;
        writesOf(tx).readAt(streamOf(actor), 1);
        writesOf(tx).append(draft(actor, 1), { version: 2 });
        // A read after the append uses the transaction's own state: nothing to check either.
        writesOf(tx).readAt(streamOf(actor), 2);
      });
      expect(await versionsOf(actor)).to.deep.equal([1, 2]);
    });
  });

  describe('deliveries', () => {
    it('writes the inbox rows with the other writes, in the same one statement', async () => {
      const consumer = `c-${randomUUID()}`;
      const ids = [randomUUID(), randomUUID()].sort();
      const actor = randomUUID();
      const { statements } = await statementsOf(() =>
        h.db.transaction(async (tx) => {
          writesOf(tx).deliver({ consumer, messageIds: ids });
          writesOf(tx).append(draft(actor, 0), {});
        }),
      );
      expect(statements).to.have.length(1);
      expect(await inboxOf(consumer)).to.deep.equal(ids);
      expect(await versionsOf(actor)).to.deep.equal([1]);
    });

    it('throws DuplicateDeliveryError and writes nothing when a message is already in the inbox', async () => {
      const consumer = `c-${randomUUID()}`;
      const [handled, fresh] = [randomUUID(), randomUUID()];
      await h.db.raw('INSERT INTO inbox (consumer, message_id) VALUES (?, ?)', [consumer, handled]);
      const actor = randomUUID();
      const append = draft(actor, 0);
      const sent = outgoing();
      const err = await rejection(
        h.db.transaction(async (tx) => {
          writesOf(tx).deliver({ consumer, messageIds: [fresh, handled] });
          writesOf(tx).append(append, {});
          writesOf(tx).send([sent]);
        }),
      );
      expect(err).to.be.instanceOf(DuplicateDeliveryError);
      expect(await inboxOf(consumer)).to.deep.equal([handled]);
      expect(await versionsOf(actor)).to.deep.equal([]);
      expect(await inOutbox([append.messages[0].id, sent.message.id])).to.deep.equal([]);
    });
  });

  describe('fence', () => {
    /** A partition owned with token 7, of a consumer group of its own. */
    async function ownedPartition(): Promise<{ consumer: string; partition: number }> {
      const consumer = `c-${randomUUID()}`;
      await h.db.raw('INSERT INTO partition_owners (consumer, partition, token, owner) VALUES (?, ?, ?, ?)', [consumer, 3, 7, 'worker-1']);
      return { consumer, partition: 3 };
    }

    it('commits the batch when the token is still the owner\'s', async () => {
      const { consumer, partition } = await ownedPartition();
      const id = randomUUID();
      const actor = randomUUID();
      await h.db.transaction(async (tx) => {
        writesOf(tx).deliver({ consumer, messageIds: [id] }, { consumer, partition, token: 7, lost: () => new Error('lost') });
        writesOf(tx).append(draft(actor, 0), {});
      });
      expect(await inboxOf(consumer)).to.deep.equal([id]);
      expect(await versionsOf(actor)).to.deep.equal([1]);
    });

    it('throws the lost() error and writes nothing, inbox rows included, when the token is not the owner\'s', async () => {
      const { consumer, partition } = await ownedPartition();
      const lostError = new Error('lost');
      const actor = randomUUID();
      const rowId = randomUUID();
      const append = draft(actor, 0, 1, rowUpsert(rowId, 'fenced', 1));
      const sent = outgoing();
      const err = await rejection(
        h.db.transaction(async (tx) => {
          writesOf(tx).deliver({ consumer, messageIds: [randomUUID()] }, { consumer, partition, token: 6, lost: () => lostError });
          writesOf(tx).append(append, {});
          writesOf(tx).send([sent]);
          writesOf(tx).schedule({ actor: { type: ACTOR_TYPE, id: actor }, name: 'fenced', topic: TOPIC, dueAt: new Date(), correlationId: actor });
        }),
      );
      expect(err).to.equal(lostError);
      expect(await inboxOf(consumer)).to.deep.equal([]);
      expect(await versionsOf(actor)).to.deep.equal([]);
      expect(await inOutbox([append.messages[0].id, sent.message.id])).to.deep.equal([]);
      expect(await rowOf(rowId)).to.equal(undefined);
      expect(await timerOf(actor, 'fenced')).to.equal(undefined);
    });

    it('throws the lost() error when the partition has no owner row at all', async () => {
      const consumer = `c-${randomUUID()}`;
      const err = await rejection(
        h.db.transaction(async (tx) => {
          writesOf(tx).deliver({ consumer, messageIds: [randomUUID()] }, { consumer, partition: 0, token: 1, lost: () => new Error('no owner') });
        }),
      );
      expect(err.message).to.equal('no owner');
      expect(await inboxOf(consumer)).to.deep.equal([]);
    });
  });

  describe('savepoints', () => {
    it('drops what a rolled-back savepoint buffered, restores localState, and commits the writes before and after it', async () => {
      const [before, inside, afterwards] = [randomUUID(), randomUUID(), randomUUID()];
      const rowId = randomUUID();
      const insideAppend = draft(inside, 0, 1, rowUpsert(rowId, 'inside', 1));
      const sentInside = outgoing();
      const { statements, outcome } = await statementsOf(() =>
        h.db.transaction(async (tx) => {
          writesOf(tx).append(draft(before, 0), { at: 'before' });
          const caught = await tx
            .transaction(async (sp) => {
              writesOf(sp).append(insideAppend, { at: 'inside' });
              writesOf(sp).append(draft(before, 1), { at: 'before, changed inside' });
              writesOf(sp).send([sentInside]);
              writesOf(sp).schedule({ actor: { type: ACTOR_TYPE, id: inside }, name: 'inside', topic: TOPIC, dueAt: new Date(), correlationId: inside });
              expect(writesOf(sp).localState(streamOf(inside))).to.deep.equal({ at: 'inside' });
              throw new Error('savepoint fails');
            })
            .catch((e: Error) => e);
          expect(caught.message).to.equal('savepoint fails');
          expect(writesOf(tx).localState(streamOf(inside))).to.equal(undefined);
          expect(writesOf(tx).localState(streamOf(before))).to.deep.equal({ at: 'before' });
          writesOf(tx).append(draft(afterwards, 0), { at: 'after' });
        }),
      );
      expect(outcome.status, String((outcome as PromiseRejectedResult).reason)).to.equal('fulfilled');
      // The writes before the savepoint go out ahead of it; the savepoint's never go out at all.
      expect(statements.map((s) => s.split(/\s/)[0])).to.deep.equal(['BEGIN', 'WITH', 'SAVEPOINT', 'ROLLBACK', 'WITH', 'COMMIT']);
      expect(await versionsOf(before)).to.deep.equal([1]);
      expect(await versionsOf(inside)).to.deep.equal([]);
      expect(await versionsOf(afterwards)).to.deep.equal([1]);
      expect(await inOutbox([insideAppend.messages[0].id, sentInside.message.id])).to.deep.equal([]);
      expect(await rowOf(rowId)).to.equal(undefined);
      expect(await timerOf(inside, 'inside')).to.equal(undefined);
    });

    it('rolls back what a savepoint already flushed, and keeps what a savepoint that returns wrote', async () => {
      const [flushedThenRolledBack, kept] = [randomUUID(), randomUUID()];
      await h.db.transaction(async (tx) => {
        await tx
          .transaction(async (sp) => {
            writesOf(sp).append(draft(flushedThenRolledBack, 0), {});
            await sp.raw('SELECT 1'); // flushed inside the savepoint
            throw new Error('savepoint fails');
          })
          .catch(() => undefined);
        await tx.transaction(async (sp) => writesOf(sp).append(draft(kept, 0), { kept: true }));
        expect(writesOf(tx).localState(streamOf(kept))).to.deep.equal({ kept: true });
      });
      expect(await versionsOf(flushedThenRolledBack)).to.deep.equal([]);
      expect(await versionsOf(kept)).to.deep.equal([1]);
    });

    // append() takes over the read check of its stream ("our own append checks it"); if the
    // append is rolled back with its savepoint, the read must be checked again at commit.
    it('still checks a read made before a savepoint whose rolled-back append covered that stream', async () => {
      const [read, written] = [randomUUID(), randomUUID()];
      await appendOne(h.db, h.topology, read, 0);
      const err = await rejection(
        h.db.transaction(async (tx) => {
          writesOf(tx).optimistic = true;
          writesOf(tx).readAt(streamOf(read), 1);
          await tx
            .transaction(async (sp) => {
              writesOf(sp).append(draft(read, 1), {});
              throw new Error('savepoint fails');
            })
            .catch(() => undefined);
          await appendOne(h.db, h.topology, read, 1); // another transaction moves it to 2
          writesOf(tx).append(draft(written, 0), {});
        }),
      );
      expect(err).to.be.instanceOf(ConcurrencyError);
      expect(await versionsOf(written)).to.deep.equal([]);
    });

    // Inbox rows recorded inside a savepoint that rolls back must not be written: the inbox
    // would say the messages were handled although their handling was undone.
    it('drops the deliveries a rolled-back savepoint recorded', async () => {
      const consumer = `c-${randomUUID()}`;
      await h.db.transaction(async (tx) => {
        await tx
          .transaction(async (sp) => {
            writesOf(sp).deliver({ consumer, messageIds: [randomUUID()] });
            throw new Error('savepoint fails');
          })
          .catch(() => undefined);
        writesOf(tx).append(draft(randomUUID(), 0), {});
      });
      expect(await inboxOf(consumer)).to.deep.equal([]);
    });
  });

  describe('unique violations', () => {
    it('surfaces a violation of a registered constraint as ConflictError with its message, writing nothing', async () => {
      registerConflictMessages({ [EMAIL_UNIQUE]: 'That email address is already taken' });
      const email = `${randomUUID()}@taken.test`;
      await h.db.raw(`INSERT INTO ${TABLE} (id, name, email, n) VALUES (?, 'owner', ?, 1)`, [randomUUID(), email]);
      const actor = randomUUID();
      const err = await rejection(
        h.db.transaction(async (tx) => {
          writesOf(tx).append(draft(actor, 0, 1, rowUpsert(randomUUID(), 'second owner', 1, email)), {});
        }),
      );
      expect(err).to.be.instanceOf(ConflictError);
      expect(err.message).to.equal('That email address is already taken');
      expect(await versionsOf(actor)).to.deep.equal([]);
    });

    it('leaves a violation of an unregistered constraint as the driver error', async () => {
      const code = randomUUID();
      await h.db.raw(`INSERT INTO ${TABLE} (id, name, email, n, code) VALUES (?, 'x', ?, 1, ?)`, [randomUUID(), `${code}@a.test`, code]);
      const err = await rejection(
        h.db.transaction(async (tx) => {
          const id = randomUUID();
          writesOf(tx).append(draft(randomUUID(), 0, 1, { ...rowUpsert(id, 'y', 1), values: { id, name: 'y', email: `${code}@b.test`, n: 1, code } }), {});
        }),
      );
      expect(err).not.to.be.instanceOf(ConflictError);
      expect(err).to.deep.include({ code: '23505', constraint: CODE_UNIQUE });
    });
  });

  describe('isDeferredWriteError', () => {
    it('marks a buffered write\'s failure flushed ahead of another statement', async () => {
      const actor = randomUUID();
      await appendOne(h.db, h.topology, actor, 0);
      let fromRaw: unknown;
      await rejection(
        h.db.transaction(async (tx) => {
          writesOf(tx).append(draft(actor, 0), {}); // stale
          try {
            await tx.raw('SELECT 1');
          } catch (err) {
            fromRaw = err;
            throw err;
          }
        }),
      );
      expect(fromRaw).to.be.instanceOf(ConcurrencyError);
      expect(isDeferredWriteError(fromRaw)).to.equal(true);
    });

    it('does not mark the same failure at commit, nor a failure of the statement itself', async () => {
      const actor = randomUUID();
      await appendOne(h.db, h.topology, actor, 0);
      const atCommit = await rejection(
        h.db.transaction(async (tx) => {
          writesOf(tx).append(draft(actor, 0), {});
        }),
      );
      expect(atCommit).to.be.instanceOf(ConcurrencyError);
      expect(isDeferredWriteError(atCommit)).to.equal(false);

      const own = await rejection(
        h.db.transaction(async (tx) => {
          writesOf(tx).append(draft(randomUUID(), 0), {}); // flushes fine
          await tx.raw('SELEKT 1');
        }),
      );
      expect((own as Error & { code?: string }).code).to.equal('42601');
      expect(isDeferredWriteError(own)).to.equal(false);
    });
  });

  /** What a context uses (`Tx`, `Db.transaction`/`committed` options): the same one statement, no buffer in sight. */
  describe('the transaction API contexts see', () => {
    it('optimistic: loads are checked at commit; loadFromLog turns that off for later loads', async () => {
      const seen: boolean[] = [];
      await h.db.transaction(async (tx) => {
        seen.push(tx.optimistic, writesOf(tx).optimistic);
        tx.loadFromLog();
        seen.push(tx.optimistic, writesOf(tx).optimistic);
      }, { optimistic: true });
      await h.db.transaction(async (tx) => {
        seen.push(tx.optimistic);
      });
      expect(seen).to.deep.equal([true, true, false, false, false]);
    });

    it('tx.schedule and tx.cancel are buffered and go out in the one statement with the appends', async () => {
      const [a, c] = [randomUUID(), randomUUID()];
      const dueAt = new Date(Date.now() + 60_000);
      await h.db.transaction(async (tx) => tx.schedule({ actor: { type: ACTOR_TYPE, id: c }, name: 'old', topic: TOPIC, dueAt, correlationId: c }));
      expect(await timerOf(c, 'old')).to.not.equal(undefined);
      const { statements, outcome } = await statementsOf(() =>
        h.db.transaction(async (tx) => {
          writesOf(tx).append(draft(a, 0), {});
          tx.schedule({ actor: { type: ACTOR_TYPE, id: a }, name: 'new', topic: TOPIC, dueAt, data: { step: 2 }, correlationId: a });
          tx.cancel({ type: ACTOR_TYPE, id: c }, 'old');
        }),
      );
      expect(outcome.status, String((outcome as PromiseRejectedResult).reason)).to.equal('fulfilled');
      expect(statements).to.have.length(1);
      expect(await timerOf(a, 'new')).to.deep.include({ topic: TOPIC, data: { step: 2 }, correlation_id: a });
      expect(await timerOf(c, 'old'), 'cancelled').to.equal(undefined);
    });

    it('committed answers the timestamp its rows got, with no statement more than the flush', async () => {
      const id = randomUUID();
      const { statements, outcome } = await statementsOf(() =>
        h.db.committed(async (tx) => {
          writesOf(tx).append(draft(randomUUID(), 0, 1, rowUpsert(id, 'timed', 1)), {});
          return 'placed';
        }),
      );
      expect(outcome.status, String((outcome as PromiseRejectedResult).reason)).to.equal('fulfilled');
      const { result, committedAt } = (outcome as PromiseFulfilledResult<{ result: string; committedAt: Date }>).value;
      expect(result).to.equal('placed');
      expect(statements).to.have.length(1);
      expect(committedAt.getTime()).to.equal((await rowOf(id))!.created_at.getTime());
    });

    it('committed reads the timestamp itself when the transaction wrote nothing, and fails as transaction does', async () => {
      const before = Date.now();
      const { result, committedAt } = await h.db.committed(async (tx) => (await tx.raw<{ rows: { n: number }[] }>('SELECT 1 AS n')).rows[0].n);
      expect(result).to.equal(1);
      expect(committedAt).to.be.instanceOf(Date);
      expect(committedAt.getTime()).to.be.within(before - 5_000, Date.now() + 5_000);
      const actor = randomUUID();
      await appendOne(h.db, h.topology, actor, 0);
      const err = await rejection(h.db.committed(async (tx) => writesOf(tx).append(draft(actor, 0), {})));
      expect(err).to.be.instanceOf(ConcurrencyError);
    });
  });
});
