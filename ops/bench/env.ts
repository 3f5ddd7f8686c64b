import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import Redis from 'ioredis';
import { configVariables, loadConfig } from '../../runtime/config';
import { deleteByPrefix } from '../../runtime/messaging/redis';

/** Where the benchmark runs: loopback services only, overridable for another local setup. */
export const SERVER_DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Settings the benchmark chooses itself; every other runtime variable may be tuned from the environment. */
const BENCH_OWNED = new Set(['DATABASE_URL', 'REDIS_URL', 'REDIS_PREFIX', 'ROLE', 'CONTEXTS', 'HOST', 'PORT', 'LOG_LEVEL', 'MIGRATE_ON_START', 'OTEL_EXPORTER_OTLP_ENDPOINT']);

/** Runtime variables set in the environment (e.g. `DB_POOL_MAX=20 npm run bench`), passed on to every runtime the bench starts. */
export function tunedEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of configVariables) {
    const value = process.env[key];
    if (!BENCH_OWNED.has(key) && value !== undefined && value !== '') out[key] = value;
  }
  return out;
}

/** One suite's isolated deployment: its own database and Redis key prefix. */
export interface BenchEnv {
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
}

/**
 * The API's per-client limits lifted: a suite is one client placing hundreds of orders for one
 * account, which the deployment's defaults (docs/security.md) would rightly refuse.
 */
export const UNCAPPED: Record<string, string> = {
  ORDERS_IN_FLIGHT_PER_ACCOUNT: '1000000',
  ORDER_UNITS_IN_FLIGHT_PER_ACCOUNT: '1000000',
  RATE_LIMIT_POINTS: '1000000',
};

/**
 * The environment of a runtime a suite starts in its own process on `env`: the tuned
 * settings, the suite's database and prefix, both roles and every context, a free loopback
 * port, no log lines; `overrides` last.
 */
export function runtimeEnv(env: BenchEnv, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ...tunedEnv(),
    DATABASE_URL: env.databaseUrl,
    REDIS_URL: env.redisUrl,
    REDIS_PREFIX: env.redisPrefix,
    ROLE: 'all',
    CONTEXTS: 'all',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    ...overrides,
  };
}

export const runId = randomBytes(3).toString('hex');
const cleanups: (() => Promise<void>)[] = [];

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: withDatabase(SERVER_DATABASE_URL, 'postgres'), application_name: 'tributary-bench' });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Creates `tributary_bench_<run>_<label>` and a `bench:<run>:<label>:` prefix; both go at {@link cleanup}. */
export async function freshEnv(label: string): Promise<BenchEnv> {
  const safe = label.replace(/[^a-z0-9_]/gi, '_').toLowerCase();
  const name = `tributary_bench_${runId}_${safe}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  cleanups.push(() => admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined));
  const redisPrefix = `bench:${runId}:${safe}:`;
  cleanups.push(() => deleteKeys(redisPrefix));
  return { databaseUrl: withDatabase(SERVER_DATABASE_URL, name), redisUrl: REDIS_URL, redisPrefix };
}

/** Deletes every Redis key under the prefix. */
export const deleteKeys = (prefix: string): Promise<void> => deleteByPrefix(REDIS_URL, prefix);

/** Drops what the run created, newest first; never throws. */
export async function cleanup(): Promise<void> {
  while (cleanups.length) {
    const fn = cleanups.pop()!;
    await fn().catch((err) => process.stderr.write(`bench cleanup failed: ${(err as Error).message}\n`));
  }
}

/** Lines describing the machine and servers, printed above the tables. */
export async function describeEnvironment(): Promise<string[]> {
  const cpus = os.cpus();
  const lines = [
    `date        ${new Date().toISOString()}`,
    `node        ${process.version} (${process.platform}/${process.arch})`,
    `cpu         ${cpus.length} × ${cpus[0]?.model ?? 'unknown'}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  ];
  const pg = await admin((c) =>
    c.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings WHERE name IN ('server_version', 'synchronous_commit', 'fsync', 'shared_buffers', 'max_connections') ORDER BY name`,
    ),
  );
  const s = Object.fromEntries(pg.rows.map((r) => [r.name, r.setting]));
  lines.push(
    `postgres    ${s.server_version} at ${new URL(SERVER_DATABASE_URL).host}; synchronous_commit=${s.synchronous_commit} fsync=${s.fsync} shared_buffers=${Number(s.shared_buffers) * 8} kB max_connections=${s.max_connections}`,
  );
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const info = await redis.info('server');
    const persistence = await redis.info('persistence');
    const field = (text: string, key: string) => new RegExp(`^${key}:(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '?';
    lines.push(`redis       ${field(info, 'redis_version')} at ${new URL(REDIS_URL).host}; aof_enabled=${field(persistence, 'aof_enabled')}`);
  } finally {
    redis.disconnect();
  }
  const c = loadConfig(tunedEnv());
  lines.push(
    `config      DB_POOL_MAX=${c.db.poolMax} PARTITIONS=${c.partitions} RELAY_BATCH_SIZE=${c.relay.batchSize} RELAY_POLL_MS=${c.relay.pollMs} ` +
      `STREAM_MAXLEN=${c.relay.streamMaxLen} CONSUMER_BATCH_SIZE=${c.consumer.batchSize} CONSUMER_BLOCK_MS=${c.consumer.blockMs} ` +
      `SNAPSHOT_EVERY=${c.snapshotEvery}; tracing off (no OTLP endpoint), LOG_LEVEL=silent`,
  );
  const tuned = Object.keys(tunedEnv());
  if (tuned.length) lines.push(`            (set from the environment: ${tuned.join(', ')})`);
  return lines;
}
