/**
 * A split deployment's first start: one web and three workers launched at the same instant
 * on a database that does not exist yet (Kubernetes applies both Deployments together). Every
 * process must come up ready, whoever wins the CREATE DATABASE, the migration lock and the
 * first lease round; then the deployment must work.
 */
import { expect } from 'chai';
import { Client } from 'pg';
import { freshPrefix, services, uncreatedDatabase } from '../support/services';
import { killStartedProcesses, startServer, type ServerProcess } from '../support/e2e-process';
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
});
