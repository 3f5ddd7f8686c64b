import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { freshDatabase } from '../testing/services';
import { migrateLatest, migrationName, pendingMigrations } from './migrate';

/**
 * A database migrated from the TypeScript source (development, and every database made before
 * the runtime was built to JavaScript) records `.ts` names; the build runs the same migrations
 * as `.js` files. Neither may run a migration again.
 */
describe('migration names (integration: Postgres)', () => {
  const dirs: string[] = [];
  const dirWith = (file: string, source: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-migrations-'));
    fs.writeFileSync(path.join(dir, file), source);
    dirs.push(dir);
    return dir;
  };
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  const tables = async (url: string) => {
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      return (await c.query<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE tablename LIKE 'names_probe_%' ORDER BY 1")).rows.map((r) => r.t);
    } finally {
      await c.end();
    }
  };

  it('names a migration after its TypeScript source, whichever form runs', () => {
    expect(migrationName('20260101000000_runtime_store.ts')).to.equal('20260101000000_runtime_store.ts');
    expect(migrationName('20260101000000_runtime_store.js')).to.equal('20260101000000_runtime_store.ts');
  });

  it('does not run again as .js a migration that ran as .ts, nor lists it as pending', async () => {
    const url = await freshDatabase('migrate_names');
    const ts = dirWith('20990101000000_names_probe.ts', "import type { Knex } from 'knex';\nexport async function up(knex: Knex) { await knex.raw('CREATE TABLE names_probe_ts (id int)'); }\nexport async function down() {}\n");
    const js = dirWith('20990101000000_names_probe.js', "exports.up = async (knex) => { await knex.raw('CREATE TABLE names_probe_js (id int)'); };\nexports.down = async () => {};\n");

    expect(await migrateLatest(url, [ts])).to.include('20990101000000_names_probe.ts');
    expect(await pendingMigrations(url, [js])).to.deep.equal([]);
    expect(await migrateLatest(url, [js])).to.deep.equal([]);
    expect(await tables(url)).to.deep.equal(['names_probe_ts']);
  });

  it('runs a .js migration the database has not seen, recorded under its source name', async () => {
    const url = await freshDatabase('migrate_names_js');
    const js = dirWith('20990101000000_names_probe.js', "exports.up = async (knex) => { await knex.raw('CREATE TABLE names_probe_js (id int)'); };\nexports.down = async () => {};\n");
    expect(await pendingMigrations(url, [js])).to.include('20990101000000_names_probe.ts');
    expect(await migrateLatest(url, [js])).to.include('20990101000000_names_probe.ts');
    expect(await tables(url)).to.deep.equal(['names_probe_js']);
    expect(await pendingMigrations(url, [js])).to.deep.equal([]);
  });
});
