/**
 * The pool when Postgres goes away: through a TCP proxy that the tests cut and restore (the
 * machine's Postgres is never touched), connections die idle, inside a transaction, or
 * cannot be opened at all. The process must not crash, every query must fail fast with
 * DatabaseUnavailableError, and the pool must serve again once Postgres is back.
 */
import { expect } from 'chai';
import { createDb, type Db } from './database';
import { isBackingServiceUnavailable } from '../unavailable';
import { DatabaseUnavailableError } from '../errors';
import { freshDatabase } from '../../test/support/services';
import { TcpProxy } from '../../test/support/tcp-proxy';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Settles `p` and returns its error (or fails the test if it resolved). */
async function rejection(p: Promise<unknown>): Promise<Error & { cause?: unknown; code?: string }> {
  return p.then(
    () => expect.fail('expected a rejection'),
    (err: Error) => err,
  );
}

describe('database pool when Postgres goes away (through a TCP proxy)', function () {
  this.timeout(15_000);
  let proxy: TcpProxy;
  let url = '';
  const dbs: Db[] = [];
  /** Errors nobody listened for: each one would have crashed a real process. */
  const uncaught: Error[] = [];
  const onUncaught = (err: Error) => uncaught.push(err);

  const open = (connectTimeoutMs?: number) => {
    const db = createDb(url, { poolMax: 4, connectTimeoutMs });
    dbs.push(db);
    return db;
  };

  before(async () => {
    const direct = new URL(await freshDatabase('db_outage'));
    proxy = await TcpProxy.start({ host: direct.hostname, port: Number(direct.port || 5432) });
    direct.hostname = '127.0.0.1';
    direct.port = String(proxy.port);
    url = direct.toString();
    // Mocha fails a test on an uncaught exception too; this also names what escaped.
    process.prependListener('uncaughtException', onUncaught);
  });

  afterEach(() => {
    proxy.restore();
    expect(uncaught.map((e) => e.message), 'uncaught errors').to.deep.equal([]);
  });

  after(async () => {
    process.removeListener('uncaughtException', onUncaught);
    await Promise.all(dbs.map((db) => db.destroy().catch(() => undefined)));
    await proxy?.close();
  });

  it('survives a connection that dies inside a transaction, between two queries', async () => {
    const db = open();
    const err = await rejection(
      db.transaction(async (tx) => {
        await tx.raw('SELECT 1');
        proxy.cut();
        await sleep(100); // the reset arrives while no query is running on the connection
        await tx.raw('SELECT 2');
      }),
    );
    expect(err).to.be.instanceOf(DatabaseUnavailableError);
    expect(err.message).to.equal('Database unavailable; retry later');
    proxy.restore();
    // The broken connection was dropped, not pooled again: the next transaction works.
    const rows = await db.transaction(async (tx) => (await tx.raw<{ rows: { n: number }[] }>('SELECT 3 AS n')).rows);
    expect(rows).to.deep.equal([{ n: 3 }]);
  });

  it('survives idle connections that die, and reconnects once Postgres is back', async () => {
    const db = open();
    await Promise.all([db.raw('SELECT pg_sleep(0.05)'), db.raw('SELECT pg_sleep(0.05)')]); // two pooled connections
    proxy.cut();
    await sleep(100);
    const err = await rejection(db.raw('SELECT 1'));
    expect(err).to.be.instanceOf(DatabaseUnavailableError);
    proxy.restore();
    const { rows } = await db.raw<{ rows: { n: number }[] }>('SELECT ? :: int AS n', [4]);
    expect(rows).to.deep.equal([{ n: 4 }]);
  });

  it('fails fast with DatabaseUnavailableError, keeping the driver error as cause, while connections are refused', async () => {
    const db = open();
    proxy.cut();
    const began = Date.now();
    const [raw, tx] = await Promise.all([rejection(db.raw('SELECT 1')), rejection(db.transaction(async (t) => t.raw('SELECT 1')))]);
    expect(Date.now() - began).to.be.below(1_000);
    for (const err of [raw, tx]) {
      expect(err).to.be.instanceOf(DatabaseUnavailableError);
      expect(isBackingServiceUnavailable(err.cause), String(err.cause)).to.equal(true);
    }
  });

  it('gives up on a connection that does not answer after the connect timeout', async () => {
    const db = open(300);
    proxy.cut('blackhole');
    const began = Date.now();
    const err = await rejection(db.raw('SELECT 1'));
    const ms = Date.now() - began;
    expect(err).to.be.instanceOf(DatabaseUnavailableError);
    expect(ms).to.be.within(250, 2_000);
  });

  it('passes errors that are not about availability through unchanged', async () => {
    const db = open();
    const syntax = await rejection(db.raw('SELEKT 1'));
    expect(syntax).to.not.be.instanceOf(DatabaseUnavailableError);
    expect(syntax.code).to.equal('42601');
    const unique = await rejection(
      db.transaction(async (tx) => {
        await tx.raw('CREATE TEMP TABLE t (id int PRIMARY KEY)');
        await tx.raw('INSERT INTO t VALUES (?), (?)', [1, 1]);
      }),
    );
    expect(unique).to.not.be.instanceOf(DatabaseUnavailableError);
    expect(unique.code).to.equal('23505');
  });
});
