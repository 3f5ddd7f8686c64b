import { expect } from 'chai';
import { Client } from 'pg';
import { freshPrefix, services, uncreatedDatabase } from './services';
import { startTestRuntime } from './runtime';

/** The test kit starts a runtime on the database and Redis prefix a test names itself. */
describe('test kit: a runtime on given database and Redis names', function () {
  this.timeout(30_000);

  it('creates and migrates the named database, uses the named prefix, and serves', async () => {
    const env = { DATABASE_URL: await uncreatedDatabase('kit_given'), REDIS_URL: (await services()).redisUrl, REDIS_PREFIX: freshPrefix('kit_given') };
    const runtime = await startTestRuntime(env, { CONTEXTS: 'accounts' });
    try {
      expect(runtime.env).to.equal(env);
      expect(runtime.services.config.redisPrefix).to.equal(env.REDIS_PREFIX);
      const db = new Client({ connectionString: env.DATABASE_URL });
      await db.connect();
      try {
        expect((await db.query("SELECT to_regclass('accounts') IS NOT NULL AS ok")).rows[0].ok).to.equal(true);
      } finally {
        await db.end();
      }
      expect((await fetch(`${runtime.url}/readyz`)).status).to.equal(200);
    } finally {
      await runtime.stop();
    }
  });
});
