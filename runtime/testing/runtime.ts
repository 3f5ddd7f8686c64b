import { loadConfig, type Config } from '../config';
import { startRuntime, type Runtime } from '../roles';
import type { Envelope } from '../messaging/envelope';
import { MESSAGE_FIELD, entryField } from '../messaging/stream-entry';
import { createLogger } from '../logger';
import { freshDatabase, freshPrefix, services } from './services';

export interface TestEnv {
  DATABASE_URL: string;
  REDIS_URL: string;
  REDIS_PREFIX: string;
}

/** Environment for one isolated deployment: its own database and Redis prefix. */
export async function testEnv(label: string): Promise<TestEnv> {
  const s = await services();
  return { DATABASE_URL: await freshDatabase(label), REDIS_URL: s.redisUrl, REDIS_PREFIX: freshPrefix(label) };
}

/** A config for tests: fast polling and retries, quiet logs, an ephemeral port. */
export function testConfig(env: TestEnv, overrides: Record<string, string> = {}): Config {
  return loadConfig({
    ...env,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    RELAY_POLL_MS: '50',
    CONSUMER_BLOCK_MS: '100',
    CONSUMER_RETRY_BASE_MS: '20',
    CONSUMER_CLAIM_IDLE_MS: '1000',
    SHUTDOWN_TIMEOUT_MS: '5000',
    ...overrides,
  });
}

/**
 * Starts the runtime in this process (both roles unless ROLE says otherwise): on a fresh
 * database and Redis prefix named after `label` (removed when the run ends), or on the
 * database and prefix `deployment` names.
 */
export async function startTestRuntime(deployment: string | TestEnv, overrides: Record<string, string> = {}): Promise<Runtime & { env: TestEnv }> {
  const env = typeof deployment === 'string' ? await testEnv(deployment) : deployment;
  const config = testConfig(env, overrides);
  const runtime = await startRuntime(config, { log: createLogger(config.logLevel) });
  return Object.assign(runtime, { env });
}

/** Polls until `probe` returns a truthy value or the time is up. */
export async function eventually<T>(probe: () => Promise<T | undefined | false>, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * The messages on a topic's partition streams addressed to one actor, in stream order: what
 * a context sent when the consumer of that topic is not loaded (e.g. replies on orders.commands).
 */
export async function messagesTo(runtime: Runtime, topic: string, actorId: string): Promise<Envelope<Record<string, unknown>>[]> {
  const { redis, topology } = runtime.services;
  const out: Envelope<Record<string, unknown>>[] = [];
  for (const key of topology.streamKeys(topic)) {
    const rows = (await redis.xrange(key, '-', '+')) as [string, string[]][];
    for (const [, fields] of rows) {
      const m = JSON.parse(entryField(fields, MESSAGE_FIELD)!) as Envelope<Record<string, unknown>>;
      if (m.actor.id === actorId) out.push(m);
    }
  }
  return out;
}
