import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { assign, setup } from 'xstate';
import { ActorSystem } from './actor-system';
import { defineAggregate } from './aggregate';
import { ConcurrencyError } from '../errors';
import { IntHarness } from '../../test/support/int-fixtures';
import { writesOf } from '../store/database';

/** A counter: OPENED creates it, each INCREMENTED adds one. */
const counterMachine = setup({
  types: { context: {} as { n: number }, events: {} as { type: 'OPENED'; data: object } | { type: 'INCREMENTED'; data: object } },
}).createMachine({
  id: 'counter',
  initial: 'new',
  context: { n: 0 },
  states: {
    new: { on: { OPENED: 'open' } },
    open: { on: { INCREMENTED: { actions: assign({ n: ({ context }) => context.n + 1 }) } } },
  },
});

const counter = defineAggregate<{ n: number }>({
  type: 'counter',
  topic: 'counters',
  machine: counterMachine,
  commands: {
    open: { event: 'OPENED', creates: true, rejection: () => 'already open' },
    increment: { event: 'INCREMENTED', rejection: () => 'not open' },
  },
});

describe('actor system: the cache of committed states', function () {
  this.timeout(10_000);
  let h: IntHarness;
  /** Two processes' actor systems over one database: `a` caches, `b` writes behind its back. */
  let a: ActorSystem;
  let b: ActorSystem;

  before(async () => {
    h = await IntHarness.open('actor_cache');
    const system = (cacheSize: number) => {
      const s = new ActorSystem(h.db, h.topology, 0, undefined, cacheSize);
      s.register(counter);
      return s;
    };
    a = system(100);
    b = system(0);
  });
  after(async () => {
    await h?.close();
  });

  async function opened(): Promise<string> {
    const id = randomUUID();
    await a.execute('counter', id, 'open', undefined, { expectedVersion: 0 });
    return id;
  }

  it('serves a cached state caught up with what another process committed since', async () => {
    const id = await opened();
    await a.execute('counter', id, 'increment', undefined);
    await b.execute('counter', id, 'increment', undefined); // a's cache holds version 2; the log has 3
    const state = await a.load<{ n: number }>('counter', id);
    expect(state.version).to.equal(3);
    expect(state.context.n).to.equal(2);
    // And a's next command appends at 4, no conflict.
    const { state: after } = await a.execute<{ n: number }>('counter', id, 'increment', undefined);
    expect(after.version).to.equal(4);
    expect(after.context.n).to.equal(3);
  });

  it('never caches what a transaction wrote when it rolls back', async () => {
    const id = await opened();
    await a
      .execute('counter', id, 'increment', undefined, {})
      .then(() => h.db.transaction(async (tx) => {
        await a.execute('counter', id, 'increment', undefined, { tx });
        throw new Error('rolled back');
      }))
      .catch((err: Error) => expect(err.message).to.equal('rolled back'));
    const state = await a.load<{ n: number }>('counter', id);
    expect(state.version, 'the rolled-back increment is not served').to.equal(2);
    expect((await a.execute<{ n: number }>('counter', id, 'increment', undefined)).state.version).to.equal(3);
  });

  it('never caches what a savepoint wrote when the transaction around it rolls back', async () => {
    const id = await opened();
    await h.db
      .transaction(async (tx) => {
        await tx.transaction((sp) => a.execute('counter', id, 'increment', undefined, { tx: sp }));
        throw new Error('outer rolled back');
      })
      .catch((err: Error) => expect(err.message).to.equal('outer rolled back'));
    expect((await a.load('counter', id)).version).to.equal(1);
  });

  it('still refuses a stale expected version (If-Match) when the state is cached', async () => {
    const id = await opened();
    await a.load('counter', id);
    await b.execute('counter', id, 'increment', undefined);
    const err = await a.execute('counter', id, 'increment', undefined, { expectedVersion: 1 }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ConcurrencyError);
  });

  describe('in an optimistic (consumer) transaction', () => {
    /** What a consumer's transaction is: cached states used as they are, checked at commit. */
    const optimistic = <T>(fn: (tx: Parameters<Parameters<typeof h.db.transaction>[0]>[0]) => Promise<T>) =>
      h.db.transaction((tx) => {
        writesOf(tx).optimistic = true;
        return fn(tx);
      });

    it('decides on the cached state without reading the log, and commits when nobody wrote meanwhile', async () => {
      const id = await opened();
      await a.load('counter', id);
      const { state } = await optimistic((tx) => a.execute<{ n: number }>('counter', id, 'increment', undefined, { tx }));
      expect(state.version).to.equal(2);
      expect((await b.load<{ n: number }>('counter', id)).context.n).to.equal(1);
    });

    it('fails with ConcurrencyError when another process wrote behind the cache, forgets the state, and the retry decides on the log', async () => {
      const id = await opened();
      await a.load('counter', id); // cached at version 1
      await b.execute('counter', id, 'increment', undefined); // the log is at 2
      const err = await optimistic((tx) => a.execute('counter', id, 'increment', undefined, { tx })).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(ConcurrencyError);
      const { state } = await optimistic((tx) => a.execute<{ n: number }>('counter', id, 'increment', undefined, { tx }));
      expect(state.version).to.equal(3);
      expect(state.context.n).to.equal(2);
    });

    it('fails a transaction that only read a stale cached state (it may have decided on it), writing nothing', async () => {
      const [read, written] = [await opened(), await opened()];
      await a.load('counter', read);
      await b.execute('counter', read, 'increment', undefined);
      const err = await optimistic(async (tx) => {
        const seen = await a.load<{ n: number }>('counter', read, tx);
        if (seen.context.n === 0) await a.execute('counter', written, 'increment', undefined, { tx });
      }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(ConcurrencyError);
      expect((await b.load('counter', written)).version, 'the decision on the stale state is not committed').to.equal(1);
    });
  });

  it('loads an actor with a long history in O(1) rows: snapshot + at most SNAPSHOT_EVERY events cold, none warm', async () => {
    const snapshotting = (cacheSize: number) => {
      const s = new ActorSystem(h.db, h.topology, 50, undefined, cacheSize);
      s.register(counter);
      return s;
    };
    const writer = snapshotting(0);
    const id = randomUUID();
    await writer.execute('counter', id, 'open', undefined, { expectedVersion: 0 });
    for (let i = 0; i < 260; i++) await writer.execute('counter', id, 'increment', undefined);
    let rows = 0;
    const counting = { raw: async <R>(sql: string, bindings?: readonly unknown[]) => {
      const r = await h.db.raw<{ rows: unknown[] }>(sql, bindings);
      rows += r.rows.length;
      return r as R;
    } };
    const cold = snapshotting(100);
    const state = await cold.load<{ n: number }>('counter', id, counting);
    expect(state.version).to.equal(261);
    expect(state.context.n).to.equal(260);
    expect(rows, 'rows read cold: the snapshot at 250 and the 11 events after it').to.equal(12);
    rows = 0;
    expect((await cold.load('counter', id, counting)).version).to.equal(261);
    expect(rows, 'rows read warm').to.equal(0);
  });
});
