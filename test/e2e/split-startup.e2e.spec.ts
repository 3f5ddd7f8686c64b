/**
 * A split deployment's first start: one web and three workers launched at the same instant
 * on a database that does not exist yet (Kubernetes applies both Deployments together). Every
 * process must come up ready, whoever wins the CREATE DATABASE, the migration lock and the
 * first lease round; then the deployment must work.
 */
import { expect } from 'chai';
import { Client } from 'pg';
import { freshDatabase, freshPrefix, services, uncreatedDatabase } from '../support/services';
import { freePort, killStartedProcesses, spawnCli, startServer, waitForLog, FAST_SETTINGS, type ServerProcess } from '../support/e2e-process';
import { client } from '../support/e2e-http';
import { activeAccount } from '../support/e2e-shop';
import { servedBy } from '../support/e2e-cluster';
import { eventually } from '../support/runtime';
import type { GroupPartitions } from '../../runtime/messaging/partition-report';

const WORKERS = 3;

/** How the workers migrate: as the README's plain `ROLE=web & ROLE=worker` (all of them), or as compose and k8s (the web only). */
type Layout = 'every process migrates' | 'only the web migrates';

async function launchTogether(label: string, layout: Layout) {
  const env = { DATABASE_URL: await uncreatedDatabase(label), REDIS_URL: (await services()).redisUrl, REDIS_PREFIX: freshPrefix(label), PARTITIONS: String(WORKERS) };
  const workerSettings = { ROLE: 'worker', ...(layout === 'only the web migrates' ? { MIGRATE_ON_START: 'false' } : {}) };
  const settled = await Promise.allSettled([
    startServer(env, { ROLE: 'web' }, { readyTimeoutMs: 60_000 }),
    ...Array.from({ length: WORKERS }, () => startServer(env, workerSettings, { readyTimeoutMs: 60_000 })),
  ]);
  const failures = settled.flatMap((s) => (s.status === 'rejected' ? [(s.reason as Error).message] : []));
  const started = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  return { env, failures, web: started[0] as ServerProcess | undefined, workers: started.slice(1) };
}

async function databaseCount(name: string): Promise<number> {
  const admin = new Client({ connectionString: (await services()).postgresUrl });
  await admin.connect();
  try {
    return (await admin.query('SELECT count(*)::int AS n FROM pg_database WHERE datname = $1', [name])).rows[0].n;
  } finally {
    await admin.end();
  }
}

describe('a split deployment started all at once on a new database', function () {
  this.timeout(240_000);
  afterEach(killStartedProcesses);

  const rounds: Layout[] = ['every process migrates', 'only the web migrates', 'every process migrates', 'only the web migrates'];
  rounds.forEach((layout, round) => {
    it(`round ${round + 1} (${layout}): every process is ready`, async () => {
      const { env, failures, web, workers } = await launchTogether(`split_start_${round}`, layout);
      expect(failures, failures.join('\n---\n')).to.deep.equal([]);
      expect(workers).to.have.length(WORKERS);
      expect(await databaseCount(new URL(env.DATABASE_URL).pathname.slice(1))).to.equal(1);

      // The leases settle on the three workers, each with a share.
      const api = client(web!.url);
      const pids = new Set(workers.map((w) => w.pid));
      await eventually(async () => {
        const groups = (await api.get('/v1/ops/partitions')).body._embedded.groupList as GroupPartitions[];
        return servedBy(groups, pids) && groups;
      }, 30_000, 100);

      if (round === rounds.length - 1) {
        // And the deployment works: an account registered on the web is activated by a worker.
        await activeAccount(api);
      }
    });
  });

  it('a worker that does not migrate waits for the schema, not ready, and becomes ready once the web migrated', async () => {
    const env = { DATABASE_URL: await freshDatabase('split_wait'), REDIS_URL: (await services()).redisUrl, REDIS_PREFIX: freshPrefix('split_wait') };
    const port = await freePort();
    const worker = spawnCli({ ...FAST_SETTINGS, ...env, LOG_LEVEL: 'warn', ROLE: 'worker', MIGRATE_ON_START: 'false', PORT: String(port) });
    await waitForLog(worker, 'waiting for another process to apply migrations (MIGRATE_ON_START=false)');
    // Nothing listens yet: no probe can take it for ready while its tables are missing.
    const probe = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 'refused');
    expect(probe).to.equal('refused');

    await startServer(env, { ROLE: 'web' });
    await eventually(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0)) === 200, 20_000, 100);
    expect(worker.hasExited()).to.equal(false);
  });

  it('a stop requested while waiting for the schema ends the process at once, with one line', async () => {
    const env = { DATABASE_URL: await freshDatabase('split_wait_stop'), REDIS_URL: (await services()).redisUrl, REDIS_PREFIX: freshPrefix('split_wait_stop') };
    const worker = spawnCli({ ...FAST_SETTINGS, ...env, LOG_LEVEL: 'warn', ROLE: 'worker', MIGRATE_ON_START: 'false', PORT: String(await freePort()) });
    await waitForLog(worker, 'waiting for another process to apply migrations (MIGRATE_ON_START=false)');
    const begin = Date.now();
    worker.child.kill('SIGTERM');
    const exit = await worker.exited;
    expect(Date.now() - begin).to.be.below(3_000);
    expect(exit.code).to.equal(1);
    expect(worker.stderr()).to.match(/^tributary: Stopped while waiting for another process to apply the migrations/);
  });
});
