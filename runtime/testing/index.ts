/**
 * `@tributary/runtime/testing`: what a context's tests need, inside this repository or in a
 * project of their own. Postgres and Redis are real (found by {@link services}); each test
 * deployment gets its own database and Redis key prefix, removed when the run ends (register
 * {@link mochaHooks}: `require: ['@tributary/runtime/testing/hooks']` in `.mocharc.json`, or
 * call {@link cleanupAll} in an `after` hook).
 *
 * - `services`, `freshDatabase(label)`, `freshPrefix(label)`, `uncreatedDatabase(label)`
 * - `startTestRuntime(label, settings)`: a runtime in the test process; `testEnv`, `testConfig`
 * - `startServer(deployment, settings)`: the `tributary` bin as a child process, on a free port;
 *   `killStartedProcesses()` in an `after` hook
 * - `specFor(aggregate).given(events).when(command, input).then(events)`, `replay`
 * - `httpClient(url)`, `eventually(probe)`, `messagesTo(runtime, topic, id)`
 * - `startRedisCluster(options)`: a real local Redis Cluster (redis-server child processes) with
 *   its `redis+cluster://` URL, `failover(port)`, `killNode`, `restartNode` and `stop()`;
 *   `skipWithoutRedisServer(this)` in a `before` hook where redis-server may be missing
 */
export { services, freshDatabase, freshPrefix, uncreatedDatabase, cleanupAll, runId, type Services } from './services';
export { testEnv, testConfig, startTestRuntime, eventually, messagesTo, type TestEnv } from './runtime';
export { specFor, replay, type GivenEvent } from './decider';
export {
  startServer, spawnCli, runCliToExit, killStartedProcesses, freePort, waitForLog, freshDeployment, FAST_SETTINGS,
  type ServerProcess, type CliProcess, type Exit, type StartOptions,
} from './process';
export { httpClient, type HttpClient, type Reply, type RequestOptions } from './http';
export { mochaHooks } from './hooks';
export {
  startRedisCluster, redisClusterTools, skipWithoutRedisServer, CLUSTER_SLOTS,
  type RedisCluster, type RedisClusterOptions, type RedisClusterNode, type FailoverResult,
} from './redis-cluster';
