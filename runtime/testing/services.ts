/**
 * Finds Postgres and Redis for tests, in this order: TEST_DATABASE_URL / TEST_REDIS_URL;
 * services already on localhost; testcontainers when a Docker engine is there; else a clear
 * message. Every run (and every runtime a test starts) gets its own database and Redis key
 * prefix, so runs never see each other; all of it is removed when the run ends.
 */
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { deleteByPrefix } from '../messaging/redis';

export interface Services {
  /** A server URL whose database part is replaced per test database. */
  postgresUrl: string;
  redisUrl: string;
}

const cleanups: (() => Promise<void>)[] = [];
let resolved: Promise<Services> | undefined;
export const runId = randomBytes(3).toString('hex');

function reachable(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function fromContainers(): Promise<Services> {
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const { RedisContainer } = await import('@testcontainers/redis');
  const pg = await new PostgreSqlContainer('postgres:16').start();
  const redis = await new RedisContainer('redis:7').start();
  cleanups.push(async () => {
    await pg.stop();
    await redis.stop();
  });
  return { postgresUrl: pg.getConnectionUri(), redisUrl: redis.getConnectionUrl() };
}

async function find(): Promise<Services> {
  const envPg = process.env.TEST_DATABASE_URL;
  const envRedis = process.env.TEST_REDIS_URL;
  if (envPg && envRedis) return { postgresUrl: envPg, redisUrl: envRedis };
  const [pgUp, redisUp] = await Promise.all([reachable('127.0.0.1', 5432), reachable('127.0.0.1', 6379)]);
  if (pgUp && redisUp) {
    return { postgresUrl: envPg ?? 'postgres://postgres@127.0.0.1:5432/postgres', redisUrl: envRedis ?? 'redis://127.0.0.1:6379' };
  }
  try {
    return await fromContainers();
  } catch (err) {
    throw new Error(
      `Tests need Postgres and Redis: set TEST_DATABASE_URL and TEST_REDIS_URL, or run them on localhost ` +
        `(docker compose up -d postgres redis), or provide a Docker engine for testcontainers (${(err as Error).message})`,
    );
  }
}

export function services(): Promise<Services> {
  return (resolved ??= find());
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * The URL of a database that does not exist yet, for a test of what creates it (start-up);
 * dropped, if anything created it, when the run ends.
 */
export async function uncreatedDatabase(label = 'db'): Promise<string> {
  const { postgresUrl } = await services();
  const name = `tributary_test_${runId}_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(2).toString('hex')}`;
  cleanups.push(async () => {
    const c = new Client({ connectionString: withDatabase(postgresUrl, 'postgres') });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await c.end();
  });
  return withDatabase(postgresUrl, name);
}

/** A new, empty database for this run; dropped when the run ends. */
export async function freshDatabase(label = 'db'): Promise<string> {
  const url = await uncreatedDatabase(label);
  const admin = new Client({ connectionString: withDatabase(url, 'postgres') });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${decodeURIComponent(new URL(url).pathname.slice(1))}"`);
  await admin.end();
  return url;
}

/** A Redis key prefix for this run; its keys are deleted when the run ends. */
export function freshPrefix(label = 'p'): string {
  const prefix = `test:${runId}:${label.replace(/[^a-z0-9_]/gi, '_')}:${randomBytes(2).toString('hex')}:`;
  cleanups.push(async () => deleteByPrefix((await services()).redisUrl, prefix));
  return prefix;
}

export async function cleanupAll(): Promise<void> {
  while (cleanups.length) {
    const fn = cleanups.pop()!;
    await fn().catch((err) => process.stderr.write(`test cleanup failed: ${(err as Error).message}\n`));
  }
}
