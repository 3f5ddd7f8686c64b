import path from 'node:path';
import { z } from 'zod';
import { StartupError } from './errors';
import { functionsSetting } from './functions/settings';
import { parseRedisUrl } from './messaging/redis-url';
import { redactUrl } from './redact';

/** A refused value as the error line shows it: a secret not at all, a URL without its password (logs keep these lines). */
const shown = (key: string, value: string): string => (/SECRET|PASSWORD|TOKEN/.test(key) ? '(hidden)' : redactUrl(value));

/**
 * Every setting the runtime reads from the environment, validated in one place.
 * A bad value stops start-up with one line naming the variable (see {@link ConfigError}).
 */
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);

const schema = z.object({
  DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/tributary'),
  // One Redis (redis://, rediss://) or a Redis Cluster (redis+cluster://host:port,host:port).
  REDIS_URL: z
    .string()
    .default('redis://127.0.0.1:6379')
    .superRefine((url, ctx) => {
      try {
        parseRedisUrl(url);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
  ROLE: z.enum(['web', 'worker', 'all']).default('all'),
  CONTEXTS: z.string().default('all'),
  CONTEXTS_DIR: z.string().optional(),
  HOST: z.string().default('0.0.0.0'),
  PORT: int(0, 65535).default(3000),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]*$/, 'letters, digits and _ . : - only')
    .default('tributary:'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MIGRATE_ON_START: bool.default(true),
  // The default suits the default deployment, one process with both roles: on 2 cores, 2
  // partitions (bigger batches) completed about 10 % more orders than 4. A deployment that
  // scales its workers sets it to the most workers it runs (ops/k8s: 4).
  PARTITIONS: int(1, 1024).default(2),
  HTTP_BODY_LIMIT_BYTES: int(1024).default(64 * 1024),
  HTTP_REQUEST_TIMEOUT_MS: int(100).default(10_000),
  // Generous: a guard against one client starving the others, not a billing plan (and the
  // test suites hammer the API from one address). 0 points: no quota.
  RATE_LIMIT_POINTS: int(0, 1_000_000_000).default(2000),
  RATE_LIMIT_DURATION_S: int(1, 86_400).default(1),
  DB_POOL_MAX: int(1, 200).default(10),
  DB_CONNECT_TIMEOUT_MS: int(100).default(5_000),
  RELAY_BATCH_SIZE: int(1, 10_000).default(1000),
  RELAY_POLL_MS: int(5).default(250),
  STREAM_MAXLEN: int(0).default(100_000),
  CONSUMER_BATCH_SIZE: int(1, 10_000).default(200),
  CONSUMER_BLOCK_MS: int(10).default(1_000),
  CONSUMER_MAX_ATTEMPTS: int(1, 1_000).default(5),
  CONSUMER_RETRY_BASE_MS: int(1).default(200),
  CONSUMER_CLAIM_IDLE_MS: int(100).default(30_000),
  LEASE_TTL_MS: int(500).default(4_000),
  LEASE_RENEW_MS: int(50).default(1_000),
  SNAPSHOT_EVERY: int(0).default(50),
  ACTOR_CACHE_SIZE: int(0, 10_000_000).default(10_000),
  TIMER_POLL_MS: int(10).default(500),
  TIMER_REARM_MS: int(100).default(30_000),
  SHUTDOWN_TIMEOUT_MS: int(100).default(10_000),
  OTEL_SERVICE_NAME: z.string().default('tributary'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  TRACE_UI_URL: z.string().url().optional(),
  EVENT_STREAM_POLL_MS: int(10, 60_000).default(200),
  EVENT_STREAM_HEARTBEAT_MS: int(100, 600_000).default(15_000),
  EVENT_STREAM_BUFFER_EVENTS: int(1, 1_000_000).default(1000),
  EVENT_STREAM_BUFFER_BYTES: int(1024).default(1024 * 1024),
  EVENT_STREAM_GAP_MS: int(100, 600_000).default(3_000),
  // Authentication (docs/security.md). In production, at least an API key or a JWT key is required.
  NODE_ENV: z.string().default('development'),
  AUTH_JWKS_URL: z.string().url().optional(),
  AUTH_JWT_SECRET: z.string().min(32, 'at least 32 characters (HS256 needs 256 bits)').optional(),
  AUTH_JWT_PUBLIC_KEY: z.string().regex(/-----BEGIN PUBLIC KEY-----/, 'a PEM public key (-----BEGIN PUBLIC KEY-----)').optional(),
  AUTH_ISSUER: z.string().optional(),
  AUTH_AUDIENCE: z.string().optional(),
  AUTH_SCOPE_CLAIM: z.string().regex(/^[\w.:/-]{1,100}$/, 'a claim name').default('scope'),
  AUTH_ACCOUNT_CLAIM: z.string().regex(/^[\w.:/-]{1,100}$/, 'a claim name').default('account_id'),
  AUTH_KEY_CACHE_MS: int(0, 300_000).default(5_000),
  // Browser clients served from other origins (docs/security.md, "Operations and headers").
  CORS_ORIGINS: z.string().default(''),
  CORS_CREDENTIALS: bool.default(false),
  // Where each function bound to a transition runs (docs/functions.md): one JSON object, read on use by runtime/functions.
  FUNCTIONS: functionsSetting,
});

type Raw = z.infer<typeof schema>;

export type Role = Raw['ROLE'];

/** The typed, validated configuration. Field names follow the environment variables. */
export interface Config {
  databaseUrl: string;
  redisUrl: string;
  role: Role;
  /** Context names to load, or 'all'. */
  contexts: readonly string[] | 'all';
  /** Directory the context plugins are loaded from; undefined: the bundled `contexts/`. */
  /** Directories of contexts loaded besides the bundled ones (`CONTEXTS_DIR`, a comma list). */
  contextsDirs: string[];
  host: string;
  port: number;
  redisPrefix: string;
  logLevel: Raw['LOG_LEVEL'];
  migrateOnStart: boolean;
  partitions: number;
  http: { bodyLimitBytes: number; requestTimeoutMs: number };
  /** Requests per client (credential, or address when open) per window, in Redis (`http/rate-limit.ts`); 0 points: off. */
  rateLimit: { points: number; durationSeconds: number };
  db: { poolMax: number; connectTimeoutMs: number };
  relay: { batchSize: number; pollMs: number; streamMaxLen: number };
  consumer: {
    batchSize: number;
    blockMs: number;
    maxAttempts: number;
    retryBaseMs: number;
    claimIdleMs: number;
  };
  /** Partition leases of the worker role: expiry, and how often they are renewed and rebalanced. */
  leases: { ttlMs: number; renewMs: number };
  snapshotEvery: number;
  /** Committed actor states kept in memory per process (0: none). */
  actorCacheSize: number;
  timerPollMs: number;
  /** A fired timer fires again after this long unless its actor moved or cancelled it. */
  timerRearmMs: number;
  shutdownTimeoutMs: number;
  telemetry: { serviceName: string; otlpEndpoint?: string };
  /** The console's API: where trace links point, and the event stream's poller and per-client limits. */
  console: {
    traceUiUrl?: string;
    eventStream: { pollMs: number; heartbeatMs: number; bufferEvents: number; bufferBytes: number; gapMs: number };
  };
  /** NODE_ENV is `production`: the API refuses to start without a credential configured. */
  production: boolean;
  /** Authentication (docs/security.md): JWT verification, and how long a looked-up API key is trusted. */
  auth: {
    jwt?: { jwksUrl?: string; secret?: string; publicKey?: string; issuer: string; audience: string; scopeClaim: string; accountClaim: string };
    keyCacheMs: number;
  };
  /**
   * CORS for browser clients hosted elsewhere: the origins allowed (`['*']`: any, never with
   * credentials; empty: no CORS headers at all), and whether credentials (cookies) are allowed.
   */
  cors: { origins: string[]; credentials: boolean };
  /** The environment this config was read from: contexts read their own settings from it. */
  env: Readonly<Record<string, string | undefined>>;
}

/** Thrown when the environment holds a bad value; its message is one line naming the variable. */
export class ConfigError extends StartupError {
  override readonly name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads the variables of `schema` from `env` (empty counts as unset) and validates them; a
 * bad value throws one {@link ConfigError} line naming the variable. Contexts read their own
 * settings with it too.
 */
/** What the deployment examples write where a real value must go. */
const PLACEHOLDER = 'REPLACE_ME';

export function readSettings<S extends z.ZodObject>(schema: S, env: Env): z.infer<S> {
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    // The deployment examples (ops/k8s/secrets.env.example) mark what must be replaced: a
    // placeholder that reaches a process (a known JWT secret, a fake host) must not run.
    if (value?.includes(PLACEHOLDER)) throw new ConfigError(`${key} still holds the placeholder ${PLACEHOLDER}: put the real value in (ops/k8s/secrets.env)`);
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue.path[0]);
    throw new ConfigError(`Invalid ${key}=${JSON.stringify(shown(key, env[key] ?? ''))}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * `CORS_ORIGINS`: a comma list of origins (`https://shop.example.com`, no path), or `*` alone.
 * A browser sends the origin exactly so, so anything else could never match: refused at start.
 */
function parseCorsOrigins(value: string, credentials: boolean): string[] {
  const origins = value.split(',').map((o) => o.trim()).filter(Boolean);
  const bad = (why: string) => new ConfigError(`Invalid CORS_ORIGINS=${JSON.stringify(value)}: ${why}`);
  if (origins.includes('*')) {
    if (origins.length > 1) throw bad('* allows every origin: give it alone, or list origins');
    // Browsers refuse a credentialed response to `*`; echoing any origin with credentials would let every site act as the user.
    if (credentials) throw bad('* cannot be used with CORS_CREDENTIALS=true: list the origins');
    return origins;
  }
  for (const o of origins) {
    let url: URL | undefined;
    try {
      url = new URL(o);
    } catch {
      // reported below
    }
    if (!url || !/^https?:$/.test(url.protocol) || url.origin !== o) throw bad(`${o} is not an origin (scheme://host[:port], no path or trailing slash)`);
  }
  return origins;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const r = readSettings(schema, env);
  if (r.LEASE_RENEW_MS * 2 > r.LEASE_TTL_MS) {
    throw new ConfigError(`Invalid LEASE_RENEW_MS=${r.LEASE_RENEW_MS}: must be at most half of LEASE_TTL_MS (${r.LEASE_TTL_MS}), or leases expire between renewals`);
  }
  const jwtKeys = [r.AUTH_JWKS_URL && 'AUTH_JWKS_URL', r.AUTH_JWT_SECRET && 'AUTH_JWT_SECRET', r.AUTH_JWT_PUBLIC_KEY && 'AUTH_JWT_PUBLIC_KEY'].filter(Boolean);
  if (jwtKeys.length > 1) throw new ConfigError(`Invalid ${jwtKeys[1]}: set only one of AUTH_JWKS_URL, AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY (also set: ${jwtKeys[0]})`);
  // A token minted for another service of the same identity provider must not open this one.
  if (jwtKeys.length && !r.AUTH_ISSUER) throw new ConfigError(`Invalid AUTH_ISSUER="": required with ${jwtKeys[0]} (tokens are checked against it)`);
  if (jwtKeys.length && !r.AUTH_AUDIENCE) throw new ConfigError(`Invalid AUTH_AUDIENCE="": required with ${jwtKeys[0]} (tokens are checked against it)`);
  const corsOrigins = parseCorsOrigins(r.CORS_ORIGINS, r.CORS_CREDENTIALS);
  const contexts = r.CONTEXTS.trim() === 'all' ? 'all' : r.CONTEXTS.split(',').map((s) => s.trim()).filter(Boolean);
  if (contexts !== 'all' && contexts.length === 0) throw new ConfigError(`Invalid CONTEXTS=${JSON.stringify(env.CONTEXTS ?? '')}: name at least one context or "all"`);
  return {
    databaseUrl: r.DATABASE_URL,
    redisUrl: r.REDIS_URL,
    role: r.ROLE,
    contexts,
    contextsDirs: (r.CONTEXTS_DIR ?? '').split(',').map((d) => d.trim()).filter(Boolean).map((d) => path.resolve(d)),
    host: r.HOST,
    port: r.PORT,
    redisPrefix: r.REDIS_PREFIX,
    logLevel: r.LOG_LEVEL,
    migrateOnStart: r.MIGRATE_ON_START,
    partitions: r.PARTITIONS,
    http: { bodyLimitBytes: r.HTTP_BODY_LIMIT_BYTES, requestTimeoutMs: r.HTTP_REQUEST_TIMEOUT_MS },
    rateLimit: { points: r.RATE_LIMIT_POINTS, durationSeconds: r.RATE_LIMIT_DURATION_S },
    db: { poolMax: r.DB_POOL_MAX, connectTimeoutMs: r.DB_CONNECT_TIMEOUT_MS },
    relay: { batchSize: r.RELAY_BATCH_SIZE, pollMs: r.RELAY_POLL_MS, streamMaxLen: r.STREAM_MAXLEN },
    consumer: {
      batchSize: r.CONSUMER_BATCH_SIZE,
      blockMs: r.CONSUMER_BLOCK_MS,
      maxAttempts: r.CONSUMER_MAX_ATTEMPTS,
      retryBaseMs: r.CONSUMER_RETRY_BASE_MS,
      claimIdleMs: r.CONSUMER_CLAIM_IDLE_MS,
    },
    leases: { ttlMs: r.LEASE_TTL_MS, renewMs: r.LEASE_RENEW_MS },
    snapshotEvery: r.SNAPSHOT_EVERY,
    actorCacheSize: r.ACTOR_CACHE_SIZE,
    timerPollMs: r.TIMER_POLL_MS,
    timerRearmMs: r.TIMER_REARM_MS,
    shutdownTimeoutMs: r.SHUTDOWN_TIMEOUT_MS,
    telemetry: { serviceName: r.OTEL_SERVICE_NAME, otlpEndpoint: r.OTEL_EXPORTER_OTLP_ENDPOINT },
    console: {
      traceUiUrl: r.TRACE_UI_URL?.replace(/\/+$/, ''),
      eventStream: {
        pollMs: r.EVENT_STREAM_POLL_MS,
        heartbeatMs: r.EVENT_STREAM_HEARTBEAT_MS,
        bufferEvents: r.EVENT_STREAM_BUFFER_EVENTS,
        bufferBytes: r.EVENT_STREAM_BUFFER_BYTES,
        gapMs: r.EVENT_STREAM_GAP_MS,
      },
    },
    production: r.NODE_ENV === 'production',
    auth: {
      jwt: jwtKeys.length
        ? {
            jwksUrl: r.AUTH_JWKS_URL,
            secret: r.AUTH_JWT_SECRET,
            publicKey: r.AUTH_JWT_PUBLIC_KEY?.replace(/\\n/g, '\n'),
            issuer: r.AUTH_ISSUER!,
            audience: r.AUTH_AUDIENCE!,
            scopeClaim: r.AUTH_SCOPE_CLAIM,
            accountClaim: r.AUTH_ACCOUNT_CLAIM,
          }
        : undefined,
      keyCacheMs: r.AUTH_KEY_CACHE_MS,
    },
    cors: { origins: corsOrigins, credentials: r.CORS_CREDENTIALS },
    env: { ...env },
  };
}

/** Every variable the runtime reads (the k8s manifest test checks the ConfigMap sets each one). */
export const configVariables = Object.keys(schema.shape);
