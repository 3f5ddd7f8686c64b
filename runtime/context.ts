import fs from 'node:fs';
import path from 'node:path';
import type Router from '@koa/router';
import type { Job } from 'bullmq';
import type { Config } from './config';
import type { Logger } from './logger';
import type { Db, Tx } from './store/database';
import type { Redis } from './messaging/redis';
import type { Topology } from './messaging/topology';
import type { ActorRef, Envelope } from './messaging/envelope';
import type { Topic, TopicMessage } from './messaging/messages';
import type { Delivery } from './messaging/stream-consumer';
import type { ActorSystem, ExecuteResult, OutgoingMessage } from './actors/actor-system';
import type { AggregateDefinition, AggregateState } from './actors/aggregate';
import type { JobQueues } from './jobs/job-queues';
import type { ZodType } from 'zod';
import { StartupError } from './errors';
import { BUNDLED_CONTEXTS_DIR } from './package-layout';

/** What the runtime gives a context's routes, reactions and jobs. */
export interface RuntimeServices {
  config: Config;
  log: Logger;
  db: Db;
  redis: Redis;
  topology: Topology;
  actors: ActorSystem;
  jobs: JobQueues;
}

/**
 * What a reaction sees of the message it handles; everything it writes joins the message's
 * transaction. `M`: the messages its subscription declares ({@link defineSubscription}).
 */
export interface ReactionContext<M extends Envelope = Envelope> {
  message: M;
  tx: Tx;
  delivery: Delivery;
  log: Logger;
  services: RuntimeServices;
  /**
   * Runs a command on an actor in this transaction, caused by this message. A command the
   * actor's state refuses is no error here (the seed: "an event that is invalid in the
   * replayed state causes no side effect"): it returns undefined.
   */
  execute<C = unknown>(
    type: string,
    id: string,
    command: string,
    input?: unknown,
    /** `loaded`: the state just read in this transaction; `expectedVersion: 0`: a creation known to be new (no read). */
    options?: { loaded?: AggregateState<C>; expectedVersion?: number },
  ): Promise<ExecuteResult<C> | undefined>;
  /** Sends messages to other actors through the outbox, in this transaction. */
  send(...messages: OutgoingMessage[]): Promise<void>;
  /**
   * Sets a durable deadline for an actor, in this transaction: after `inMs`, `TIMER_FIRED`
   * with `{ name, ...data }` arrives on `topic`. Setting it again moves it.
   */
  schedule(timer: { actor: ActorRef; name: string; topic: string; inMs: number; data?: Record<string, unknown> }): Promise<void>;
  cancel(actor: ActorRef, name: string): Promise<void>;
  /** Runs `fn` after this message's transaction commits (see {@link Delivery.afterCommit}). */
  afterCommit(fn: () => Promise<void>): void;
}

/** A worker-role consumer: a durable consumer group over some topics. */
export interface Subscription {
  /** Stable name; the group (and inbox key) is `<context>.<name>`. */
  name: string;
  topics: string[];
  /** Message types it cares about; others are acknowledged without a call. */
  types?: string[];
  handle(ctx: ReactionContext): Promise<void>;
}

/** A subscription declared over typed topics: `K` the message types it handles. */
export interface TypedSubscriptionSpec<Ts extends readonly Topic[], K extends TopicMessage<Ts[number]>['type']> {
  name: string;
  /** Topics of contracts (`defineTopic`), which say what each message type carries. */
  topics: Ts;
  /** Message types it handles (others are acknowledged without a call); all of its topics' when omitted. */
  types?: readonly K[];
  /** Receives only the declared types: `ctx.message` is their union, narrowed by `message.type`. */
  handle(ctx: ReactionContext<Extract<TopicMessage<Ts[number]>, { type: K }>>): Promise<void>;
}

/**
 * Declares a subscription over typed topics, so that `handle` gets `ctx.message` typed by
 * the contracts: `defineSubscription({ name, topics: [ordersTopic], types: ['ORDER_SUCCEEDED'],
 * handle })`. The runtime delivers only the listed types, which is what makes the narrowing true.
 */
export function defineSubscription<const Ts extends readonly Topic[], K extends TopicMessage<Ts[number]>['type'] = TopicMessage<Ts[number]>['type']>(
  spec: TypedSubscriptionSpec<Ts, K>,
): Subscription {
  return {
    name: spec.name,
    topics: spec.topics.map((t) => t.name),
    types: spec.types ? [...spec.types] : undefined,
    // The consumer hands over only the declared types (above): the message is one of them.
    handle: (ctx) => spec.handle(ctx as ReactionContext<Extract<TopicMessage<Ts[number]>, { type: K }>>),
  };
}

/** A worker-role BullMQ processor for side effects (the seed's "functions"). */
export interface JobProcessor {
  queue: string;
  concurrency?: number;
  process(job: Job, services: RuntimeServices): Promise<unknown>;
}

/**
 * A bounded context as a plugin, declared like a Fastify plugin: its name, what it
 * depends on, and what it adds to each role.
 */
export interface ContextPlugin {
  name: string;
  description?: string;
  /** Contexts that must be loaded too (their contract is what this one talks to). */
  dependencies?: string[];
  aggregates?: AggregateDefinition[];
  /** Collections listed by the `GET /v1` entry point: rel -> href. */
  collections?: Record<string, string>;
  /** Web role: Koa routes, mounted at the root (paths start with /v1). */
  routes?: (router: Router, services: RuntimeServices) => void;
  /** Worker role: stream consumers (a function when they depend on settings in `config.env`). */
  subscriptions?: Subscription[] | ((runtime: { config: Config }) => Subscription[]);
  /** Worker role: BullMQ processors. */
  jobs?: JobProcessor[];
  /** Names of the functions bound to its machines' transitions (docs/functions.md): what `FUNCTIONS` may configure. */
  functions?: string[];
  /** Directory of its knex migrations (its own tables, e.g. read models). */
  migrations?: string;
  /**
   * Commands this context offers on another context's aggregate, listed in that aggregate's
   * commands resource when `when(state)` holds (orders: `postOrder` on an active account).
   * The context serves the route itself: POST `<aggregate path>/{id}/commands/<command>`.
   */
  offers?: CommandOffer[];
  /** Its invariants, for `npm run check`: each violation as one line; none means all hold. */
  invariants?: (db: Db) => Promise<string[]>;
  /**
   * Seeds demo data through its own commands (`POST /v1/demo`, run in dependency order) and
   * returns what it created as rel → href (`{ account: '/v1/accounts/…' }`).
   */
  demo?: (services: RuntimeServices) => Promise<Record<string, string>>;
}

export interface CommandOffer {
  aggregate: string;
  command: string;
  when: (state: AggregateState<unknown>) => boolean;
  /** Its input schema, for the form the commands resource describes (`_templates`). */
  input?: ZodType;
}

const NAME = /^[a-z][a-z0-9-]*$/;

/** A subscription with its consumer group name (`<context>.<subscription>`, also its inbox key). */
export interface GroupedSubscription {
  group: string;
  subscription: Subscription;
}

/** The subscriptions of these contexts, as configured, with their group names. */
export function subscriptionGroups(plugins: readonly ContextPlugin[], config: Config): GroupedSubscription[] {
  return plugins.flatMap((p) => {
    const subs = typeof p.subscriptions === 'function' ? p.subscriptions({ config }) : (p.subscriptions ?? []);
    return subs.map((subscription) => ({ group: `${p.name}.${subscription.name}`, subscription }));
  });
}

export function defineContext(plugin: ContextPlugin): ContextPlugin {
  if (!NAME.test(plugin.name)) throw new Error(`Context name "${plugin.name}" must be lower-case letters, digits and dashes`);
  const names = new Set<string>();
  for (const s of Array.isArray(plugin.subscriptions) ? plugin.subscriptions : []) {
    if (names.has(s.name)) throw new Error(`Context ${plugin.name} declares subscription ${s.name} twice`);
    names.add(s.name);
  }
  return plugin;
}

/** The contexts bundled with this repository (their source, or their build: see package-layout.ts). */
export const CONTEXTS_DIR = BUNDLED_CONTEXTS_DIR;

/** A context found on disk: its name, its folder, and whether it is one of the bundled ones. */
export interface ContextSource {
  name: string;
  dir: string;
  bundled: boolean;
}

const hasIndex = (dir: string) => fs.existsSync(path.join(dir, 'index.ts')) || fs.existsSync(path.join(dir, 'index.js'));

/** The context folders directly under `dir` (a folder, or a link to one, holding an index.ts or index.js). */
function contextFolders(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((name) => {
      // statSync follows symlinks: a linked context folder counts like a real one.
      const stat = fs.statSync(path.join(dir, name), { throwIfNoEntry: false });
      return stat?.isDirectory() && hasIndex(path.join(dir, name));
    })
    .sort();
}

/**
 * Every context that can be loaded: the bundled ones, then those of each extra directory
 * (`CONTEXTS_DIR`). An extra directory that is missing, unreadable or holds no context stops
 * start-up with one line naming it, and so does a context name found twice.
 */
export function discoverContexts(extraDirs: readonly string[] = []): ContextSource[] {
  const found: ContextSource[] = fs.existsSync(CONTEXTS_DIR) ? contextFolders(CONTEXTS_DIR).map((name) => ({ name, dir: path.join(CONTEXTS_DIR, name), bundled: true })) : [];
  for (const extra of extraDirs) {
    const dir = path.resolve(extra);
    if (dir === CONTEXTS_DIR) continue;
    let names: string[];
    try {
      names = contextFolders(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'is not a directory' : `cannot be read (${code ?? (err as Error).message})`;
      throw new StartupError(`CONTEXTS_DIR ${dir} ${why}`);
    }
    if (names.length === 0) throw new StartupError(`CONTEXTS_DIR ${dir} holds no context (a folder with an index.ts or index.js)`);
    for (const name of names) {
      const clash = found.find((c) => c.name === name);
      if (clash) throw new StartupError(`Context "${name}" is found twice: in ${clash.dir} and in ${path.join(dir, name)}`);
      found.push({ name, dir: path.join(dir, name), bundled: false });
    }
  }
  return found;
}

/** Names of every context that can be loaded (see {@link discoverContexts}). */
export function availableContexts(extraDirs: readonly string[] = []): string[] {
  return discoverContexts(extraDirs).map((c) => c.name);
}

/**
 * Loads the requested contexts ('all' = the bundled ones and those of every extra directory),
 * checks their dependencies are loaded too, and returns them in dependency order.
 */
export function loadContexts(requested: readonly string[] | 'all', extraDirs: readonly string[] = []): ContextPlugin[] {
  const sources = discoverContexts(extraDirs);
  const names = requested === 'all' ? sources.map((c) => c.name) : [...requested];
  const plugins = new Map<string, ContextPlugin>();
  for (const name of names) {
    const source = sources.find((c) => c.name === name);
    if (!source) {
      throw new StartupError(`Unknown context "${name}" in CONTEXTS; available: ${sources.map((c) => c.name).join(', ') || '(none)'}`);
    }
    const mod = require(source.dir) as { default?: ContextPlugin };
    const plugin = mod.default;
    if (!plugin || plugin.name !== name) throw new StartupError(`${path.join(source.dir, 'index.ts')} must default-export defineContext({ name: '${name}', ... })`);
    plugins.set(name, plugin);
  }
  const ordered: ContextPlugin[] = [];
  const visit = (p: ContextPlugin, trail: string[]) => {
    if (ordered.includes(p)) return;
    if (trail.includes(p.name)) throw new StartupError(`Context dependency cycle: ${[...trail, p.name].join(' -> ')}`);
    for (const dep of p.dependencies ?? []) {
      const d = plugins.get(dep);
      if (!d) throw new StartupError(`Context "${p.name}" needs "${dep}": add it to CONTEXTS`);
      visit(d, [...trail, p.name]);
    }
    ordered.push(p);
  };
  for (const p of plugins.values()) visit(p, []);
  return ordered;
}
