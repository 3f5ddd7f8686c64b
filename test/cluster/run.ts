/**
 * `npm run test:cluster`: the suites that touch Redis, run against a Redis Cluster this
 * script starts on free loopback ports (3 masters, 3 replicas; redis-server must be
 * installed) and stops when they end. Mocha's arguments pass through (CI adds its reporter).
 *
 * Every test of these files finds Redis through TEST_REDIS_URL (runtime/testing/services.ts),
 * so each one, and every process an end-to-end test starts, runs on the cluster: consumers,
 * relay, leases, dead letters, re-drive, repartition and BullMQ, and the fault scenarios
 * (kill -9 of a worker, every key of the deployment deleted mid-run). The failover of a
 * master mid-run is `test/e2e/redis-cluster.e2e.spec.ts`, part of `npm test`.
 */
import { spawn } from 'node:child_process';
import { startRedisCluster } from '../../runtime/testing/redis-cluster';

/**
 * What runs on the cluster: every suite whose Redis use differs on a cluster (streams, groups,
 * leases, dead letters, BullMQ, scans, the fault scenarios). Suites that only pass through Redis
 * the same way these do (the store, actors, the browser, graceful stop) stay on `npm test`.
 */
export const CLUSTER_SUITES = [
  'runtime/messaging/*.int.spec.ts',
  'runtime/metrics/*.int.spec.ts',
  'runtime/http/**/*.int.spec.ts',
  'runtime/auth/*.int.spec.ts',
  'contexts/**/*.int.spec.ts',
  'test/e2e/order-saga.e2e.spec.ts',
  'test/e2e/worker-faults.e2e.spec.ts',
  'test/e2e/poison-and-duplicates.e2e.spec.ts',
  'test/e2e/repartition.e2e.spec.ts',
  'test/e2e/split-startup.e2e.spec.ts',
  'test/e2e/metrics.e2e.spec.ts',
];

async function main(): Promise<number> {
  const started = Date.now();
  const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  process.stderr.write(`[test:cluster] Redis Cluster up in ${cluster.startMs} ms: ${cluster.url}\n`);
  const stop = () => void cluster.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const mocha = spawn(process.execPath, [require.resolve('mocha/bin/mocha.js'), ...CLUSTER_SUITES, ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, TEST_REDIS_URL: cluster.url },
    });
    const code = await new Promise<number>((resolve) => mocha.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
    process.stderr.write(`[test:cluster] mocha exited ${code} after ${Math.round((Date.now() - started) / 1000)} s\n`);
    return code;
  } finally {
    await cluster.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`[test:cluster] ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
