/**
 * Start-up failures an operator meets first: a service that is down or a bad setting gives
 * exit code 1 and ONE line on stderr that names the problem and the fix, no stack trace.
 * A database that does not exist yet is created.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { services, runId } from '../support/services';
import { freshDeployment, freePort, killStartedProcesses, runCliToExit, startServer, FAST_SETTINGS } from '../support/e2e-process';
import { client } from '../support/e2e-http';
import { query } from '../support/e2e-store';

/** The single line of stderr (fails when there are more, e.g. a stack trace). */
function oneLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines, stderr).to.have.length(1);
  expect(stderr).to.not.match(/\n\s+at /);
  return lines[0];
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

type Run = Awaited<ReturnType<typeof runCliToExit>>;

describe('start-up failures and first start', function () {
  this.timeout(60_000);
  const urls = { redis: '', database: '', takenPort: 0 };
  const runs: Record<'redis' | 'database' | 'port' | 'portTaken', Run | undefined> = { redis: undefined, database: undefined, port: undefined, portTaken: undefined };

  // Each failing start-up costs seconds of module loading: run them side by side, assert one by one.
  before(async function () {
    this.timeout(90_000);
    const [redisEnv, pgEnv, takenEnv] = await Promise.all(['e2e_startup_redis', 'e2e_startup_pg', 'e2e_startup_port'].map(freshDeployment));
    urls.redis = `redis://127.0.0.1:${await freePort()}`;
    urls.database = `postgres://postgres@127.0.0.1:${await freePort()}/tributary`;
    await Promise.all([
      runCliToExit({ ...FAST_SETTINGS, ...redisEnv, REDIS_URL: urls.redis, PORT: String(await freePort()) }).then((r) => (runs.redis = r)),
      runCliToExit({ ...FAST_SETTINGS, ...pgEnv, DATABASE_URL: urls.database, PORT: String(await freePort()) }).then((r) => (runs.database = r)),
      runCliToExit({ ...FAST_SETTINGS, PORT: 'abc' }).then((r) => (runs.port = r)),
      (async () => {
        const first = await startServer(takenEnv, { ROLE: 'web' });
        urls.takenPort = first.port;
        runs.portTaken = await runCliToExit({ ...FAST_SETTINGS, ...takenEnv, ROLE: 'web', PORT: String(first.port) });
        await first.stop();
      })(),
    ]);
  });

  after(killStartedProcesses);

  it('exits 1 with one line naming REDIS_URL when Redis does not answer', () => {
    const r = runs.redis!;
    expect(r.code, r.stderr).to.equal(1);
    const line = oneLine(r.stderr);
    expect(line).to.contain(urls.redis);
    expect(line).to.contain('docker compose up -d');
  });

  it('exits 1 with one line naming DATABASE_URL when Postgres does not answer', () => {
    const r = runs.database!;
    expect(r.code, r.stderr).to.equal(1);
    const line = oneLine(r.stderr);
    expect(line).to.contain(urls.database);
    expect(line).to.contain('docker compose up -d');
  });

  it('exits 1 with one line naming PORT when PORT is not a number', () => {
    const r = runs.port!;
    expect(r.code, r.stderr).to.equal(1);
    expect(oneLine(r.stderr)).to.match(/\bPORT\b.*abc/);
  });

  it('exits 1 with one line naming the port when it is taken', () => {
    const r = runs.portTaken!;
    expect(r.code, r.stderr).to.equal(1);
    expect(oneLine(r.stderr)).to.contain(String(urls.takenPort));
  });

  describe('a database that does not exist yet', () => {
    const name = `tributary_test_${runId}_e2e_created_${randomBytes(3).toString('hex')}`;
    let adminUrl = '';

    before(async () => {
      adminUrl = withDatabase((await services()).postgresUrl, 'postgres');
    });

    after(async () => {
      const c = new Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    });

    it('is created, migrated and served', async () => {
      const exists = async () => (await query(adminUrl, 'SELECT 1 FROM pg_database WHERE datname = $1', [name])).length === 1;
      expect(await exists()).to.equal(false);
      const env = { ...(await freshDeployment('e2e_startup_newdb')), DATABASE_URL: withDatabase((await services()).postgresUrl, name) };
      const server = await startServer(env, { ROLE: 'all' });
      expect(await exists()).to.equal(true);
      const r = await client(server.url).post('/v1/accounts', { firstName: 'New', lastName: 'Database', email: 'new.db@example.com' });
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      expect(await query(env.DATABASE_URL, 'SELECT 1 FROM accounts')).to.have.length(1);
      expect((await server.stop()).code).to.equal(0);
      // Creating the database is the normal first start, not an error worth a stack trace.
      expect(server.stderr()).to.equal('');
      const notLogLines = server.stdout().split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));
      expect(notLogLines, 'output other than JSON log lines').to.deep.equal([]);
    });
  });
});
