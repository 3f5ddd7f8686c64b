import { loadConfig } from '../../config';
import { loadContexts, type ContextPlugin, type RuntimeServices } from '../../context';
import { createLogger, type Logger } from '../../logger';
import { Topology } from '../../messaging/topology';
import { OutboxSignal } from '../../messaging/outbox-signal';
import { ActorSystem } from '../../actors/actor-system';
import { buildRouter } from '../web-app';
import { declaredRoutes, undeclaredRoutes } from '../route-spec';
import { apiDocument } from './api-document';

/**
 * A stand-in for a connection (Postgres, Redis, BullMQ) that mounting routes must not use:
 * any use fails loudly, naming what was touched.
 */
function untouchable<T>(what: string): T {
  return new Proxy({}, {
    get(_t, prop) {
      throw new Error(`The API document is generated without ${what}, but mounting the routes used ${what}.${String(prop)}`);
    },
  }) as T;
}

export interface GeneratedDocument {
  document: Record<string, unknown>;
  /** Routes served without a spec (`METHOD path`), which the document cannot describe. */
  undeclared: string[];
  plugins: ContextPlugin[];
}

/**
 * The API document of a web role that loads `contexts`, built without Postgres or Redis: the
 * router is built as the web role builds it (`buildRouter`), over services whose database,
 * Redis and job queues fail if touched. Mounting routes may read settings and aggregate
 * definitions, never a connection. The settings are the defaults (plus `env`), so the
 * document does not depend on the shell that generates it.
 */
export function generateApiDocument(options: { contexts?: readonly string[] | 'all'; contextsDirs?: string[]; env?: NodeJS.ProcessEnv } = {}): GeneratedDocument {
  const plugins = loadContexts(options.contexts ?? 'all', options.contextsDirs ?? []);
  const router = buildRouter(offlineServices(plugins, options.env), plugins, () => 'running', true);
  return { document: apiDocument(declaredRoutes(router), plugins), undeclared: undeclaredRoutes(router), plugins };
}

/**
 * Services for building the web role's routes without Postgres or Redis: settings from `env`
 * only (defaults otherwise), the plugins' aggregates registered, and connections that throw
 * when used. Enough to mount routes; not to serve a request that reads or writes.
 */
export function offlineServices(plugins: readonly ContextPlugin[], env: NodeJS.ProcessEnv = {}, log: Logger = createLogger('silent')): RuntimeServices {
  const config = loadConfig({ ...env });
  const db = untouchable<RuntimeServices['db']>('Postgres');
  const topology = new Topology(config.redisPrefix, config.partitions);
  const actors = new ActorSystem(db, topology, config.snapshotEvery, new OutboxSignal(db), config.actorCacheSize);
  for (const p of plugins) for (const a of p.aggregates ?? []) actors.register(a);
  for (const p of plugins) for (const o of p.offers ?? []) actors.offerCommand(o.aggregate, o.command, o.when);
  return { config, log, db, redis: untouchable('Redis'), topology, actors, jobs: untouchable('BullMQ') };
}
