/**
 * `ensureDatabase` when several processes start together on a database that does not exist
 * yet: every one of them must succeed, and the database must exist once.
 */
import { expect } from 'chai';
import { Client } from 'pg';
import { ensureDatabase } from './database';
import { services, uncreatedDatabase } from '../../test/support/services';
import { migrateLatest } from './migrate';

describe('ensureDatabase under concurrent start-up', function () {
  this.timeout(60_000);

  async function exists(url: string): Promise<number> {
    const admin = new Client({ connectionString: (await services()).postgresUrl });
    await admin.connect();
    try {
      const name = decodeURIComponent(new URL(url).pathname.slice(1));
      return (await admin.query('SELECT count(*)::int AS n FROM pg_database WHERE datname = $1', [name])).rows[0].n;
    } finally {
      await admin.end();
    }
  }

  it('creates a missing database once when eight callers race, and none of them fails', async () => {
    for (let round = 0; round < 3; round++) {
      const url = await uncreatedDatabase(`ensure_race_${round}`);
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => ensureDatabase(url)));
      const failed = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
      expect(failed, failed.join('\n')).to.deep.equal([]);
      expect(await exists(url)).to.equal(1);
    }
  });

  it('migrates a database created a moment ago by another caller, under the migration lock, once', async () => {
    const url = await uncreatedDatabase('ensure_then_migrate');
    const applied = await Promise.all(
      Array.from({ length: 4 }, async () => {
        await ensureDatabase(url);
        return migrateLatest(url, []);
      }),
    );
    // One caller applied the runtime's migrations; the others found them applied.
    expect(applied.filter((a) => a.length > 0)).to.have.length(1);
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      expect((await c.query("SELECT to_regclass('events') IS NOT NULL AS ok")).rows[0].ok).to.equal(true);
    } finally {
      await c.end();
    }
  });
});
