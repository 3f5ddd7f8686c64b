import { randomUUID } from 'node:crypto';
import { isTransaction, writesOf, type Db, type Queryable, type Tx } from '../store/database';
import { loadStream, readEvent, readStream, saveSnapshot, type OutboxMessage, type StoredEvent } from '../store/event-store';
import { mapWriteError, registerConflictMessages, type RowUpsert } from '../store/write-buffer';
import { CommandRejectedError, ConcurrencyError, NotFoundError } from '../errors';
import { countCommand, countEvents, countFinalState } from '../metrics/commands';
import { state as metrics } from '../metrics/registry';
import type { Topology } from '../messaging/topology';
import type { OutboxSignal } from '../messaging/outbox-signal';
import { envelope, type ActorRef } from '../messaging/envelope';
import { currentTraceCarrier } from '../telemetry/propagation';
import { exists, type AggregateDefinition, type AggregateState, type CommandSpec, type StoredEventLike } from './aggregate';
import { fold, initialState, resolve } from './machine-state';
import { decideCommand } from './decide';
import { ActorCache } from './actor-cache';

/** Why a command runs: the message that caused it (worker) or the request's correlation (web). */
export interface Causation {
  correlationId: string;
  causationId: string;
}

export interface ExecuteOptions {
  /** Run inside this transaction (a consumer's); otherwise the command gets its own. */
  tx?: Tx;
  /** Fail with 409 unless the aggregate is at this version (HTTP If-Match). */
  expectedVersion?: number;
  causation?: Causation;
  /** The aggregate's state as the caller just loaded it in the same transaction (saves a read). */
  loaded?: AggregateState<unknown>;
}

export interface ExecuteResult<C = unknown> {
  state: AggregateState<C>;
  events: StoredEventLike[];
}

/** A message to another actor, written to the outbox in the same transaction. */
export interface OutgoingMessage {
  topic: string;
  type: string;
  actor: ActorRef;
  data: Record<string, unknown>;
}

const streamIdOf = (type: string, id: string) => `${type}-${id}`;
const rowsOf = (r: RowUpsert | readonly RowUpsert[] | undefined): readonly RowUpsert[] | undefined =>
  r === undefined || Array.isArray(r) ? (r as readonly RowUpsert[] | undefined) : [r as RowUpsert];

/**
 * Runs commands on aggregates: load (snapshot + events since) → the machine decides →
 * ONE transaction appends the events with the expected version, writes their outbox rows
 * and the read model.
 */
export class ActorSystem {
  private readonly aggregates = new Map<string, AggregateDefinition>();
  private readonly offers = new Map<string, { command: string; when: (state: AggregateState<unknown>) => boolean }[]>();
  private readonly cache: ActorCache;

  constructor(
    private readonly db: Db,
    private readonly topology: Topology,
    private readonly snapshotEvery: number,
    /** Told after each commit that wrote outbox rows (wakes the relays). */
    private readonly signal?: OutboxSignal,
    /** How many committed actor states to keep in memory (0: none). */
    cacheSize = 0,
  ) {
    this.cache = new ActorCache(cacheSize);
  }

  register(definition: AggregateDefinition): void {
    if (this.aggregates.has(definition.type)) throw new Error(`Aggregate type ${definition.type} is registered twice`);
    this.aggregates.set(definition.type, definition);
    registerConflictMessages(definition.uniqueViolations);
  }

  /** The registered aggregate of that type; `C` is the caller's word for its context (not checked). */
  definition<C = unknown>(type: string): AggregateDefinition<C> {
    const d = this.aggregates.get(type);
    if (!d) throw new Error(`Unknown aggregate type ${type}`);
    return d as AggregateDefinition<C>;
  }

  /** The top-level final states of each aggregate type's machine (an order's ORDER_SUCCEEDED, ORDER_FAILED). */
  private readonly finalStates = new Map<string, ReadonlySet<string>>();
  private finalStatesOf(def: AggregateDefinition): ReadonlySet<string> {
    let set = this.finalStates.get(def.type);
    if (!set) {
      const states = (def.machine.root.states ?? {}) as Record<string, { type?: string }>;
      set = new Set(Object.entries(states).filter(([, node]) => node.type === 'final').map(([name]) => name));
      this.finalStates.set(def.type, set);
    }
    return set;
  }

  /**
   * Metrics, once the transaction settles: the command and its events when it commits (a
   * consumer's batch may still roll back after the decision), a conflict when a concurrent
   * write won. An aggregate entering a final state of its machine is a saga outcome; its
   * duration (first event to this one, as Postgres stamped them) is read at the next scrape.
   */
  private countAtOutcome(tx: Tx, def: AggregateDefinition, command: string, streamId: string, before: AggregateState<unknown>, after: AggregateState<unknown>, stored: StoredEventLike[]): void {
    const finals = this.finalStatesOf(def);
    const final = finals.size > 0 && finals.has(after.status) && !finals.has(before.status);
    tx.outcome.then(
      () => {
        countCommand(def.type, command, 'executed');
        countEvents(def.type, stored);
        if (final) countFinalState(def.type, after.status, streamId, after.version);
      },
      (err) => {
        if (err instanceof ConcurrencyError) countCommand(def.type, command, 'conflicted');
      },
    );
  }

  /**
   * Current state; version 0 when the aggregate does not exist. In a transaction, a state it
   * wrote itself comes first. In a consumer's (optimistic) transaction a cached state is used
   * as it is, and checked at commit; elsewhere a cached state costs one read of the events
   * after it (usually none). Otherwise: the snapshot and the events since.
   */
  async load<C = unknown>(type: string, id: string, q: Queryable = this.db): Promise<AggregateState<C>> {
    const def = this.definition(type);
    const streamId = streamIdOf(type, id);
    const tx = isTransaction(q) ? q : undefined;
    if (tx) {
      const own = writesOf(tx).localState<AggregateState<C>>(streamId);
      if (own) return own;
      this.forgetOnRollback(tx);
    }
    const cached = this.cache.get<C>(streamId);
    let state: AggregateState<C>;
    if (cached && tx?.optimistic) {
      writesOf(tx).readAt(streamId, cached.version);
      return cached;
    }
    if (cached) {
      state = fold(def.machine, cached, await readStream(q, streamId, cached.version));
    } else {
      const { snapshot, events } = await loadStream<AggregateState<C>>(q, streamId);
      state = fold(def.machine, snapshot ? snapshot.state : initialState<C>(def.machine, id), events);
    }
    if (tx?.optimistic) writesOf(tx).readAt(streamId, state.version);
    if (state !== cached) this.remember(streamId, state, q);
    return state;
  }

  /** Caches a state once it is committed: now if read outside a transaction, else when the transaction commits. */
  private remember(streamId: string, state: AggregateState<unknown>, q: Queryable): void {
    if (state.version === 0) return;
    if (!isTransaction(q)) this.cache.put(streamId, state);
    else q.outcome.then(() => this.cache.put(streamId, state), () => undefined);
  }

  private readonly watched = new WeakSet<Tx>();
  /** If `tx` rolls back, the states it used may be stale (a conflict): forget them. */
  private forgetOnRollback(tx: Tx): void {
    if (this.watched.has(tx)) return;
    this.watched.add(tx);
    tx.outcome.catch(() => {
      for (const streamId of writesOf(tx).touched) this.cache.forget(streamId);
    });
  }

  /** Current state, or a 404 naming the resource. */
  async get<C = unknown>(type: string, id: string, q: Queryable = this.db): Promise<AggregateState<C>> {
    const state = await this.load<C>(type, id, q);
    if (!exists(state)) throw new NotFoundError(`No ${type} with id ${id}`);
    return state;
  }

  /** Lists another context's command on this aggregate when `when(state)` holds. */
  offerCommand(type: string, command: string, when: (state: AggregateState<unknown>) => boolean): void {
    const list = this.offers.get(type) ?? [];
    list.push({ command, when });
    this.offers.set(type, list);
  }

  /** The public commands allowed in this state (the machine's, then those offered by other contexts). */
  allowedCommands(type: string, state: AggregateState<unknown>): string[] {
    const def = this.definition(type);
    const snapshot = resolve(def.machine, state);
    const own = Object.entries(def.commands)
      .filter(([, spec]) => spec.public !== false && !spec.creates && snapshot.can({ type: spec.event, data: {} }))
      .map(([name]) => name);
    const offered = (this.offers.get(type) ?? []).filter((o) => o.when(state)).map((o) => o.command);
    return [...own, ...offered];
  }

  async events(type: string, id: string): Promise<StoredEvent[]> {
    return readStream(this.db, streamIdOf(type, id));
  }

  async event(type: string, id: string, eventId: string): Promise<StoredEvent | undefined> {
    return readEvent(this.db, streamIdOf(type, id), eventId);
  }

  /** Validates, decides and commits one command. */
  async execute<C = unknown>(type: string, id: string, command: string, input: unknown, options: ExecuteOptions = {}): Promise<ExecuteResult<C>> {
    const def = this.definition<C>(type);
    // An own property only: `constructor` or `__proto__` name no command (404, not a TypeError).
    const spec = Object.hasOwn(def.commands, command) ? def.commands[command] : undefined;
    if (!spec) throw new NotFoundError(`${type} has no command ${command}`);
    if (options.tx) return this.executeIn(options.tx, def, spec, command, id, input, options);
    return this.db.transaction((tx) => this.executeIn(tx, def, spec, command, id, input, options));
  }

  /** Writes messages to other actors into the outbox of the given transaction (with its other writes). */
  async send(tx: Tx, messages: OutgoingMessage[], causation: Causation): Promise<void> {
    writesOf(tx).send(this.envelopes(messages, causation));
    this.signal?.afterCommit(tx);
  }

  /** Outbox rows for messages to other actors, stamped now with the active trace context. */
  envelopes(messages: OutgoingMessage[], causation: Causation): OutboxMessage[] {
    const origin = { ...causation, ...currentTraceCarrier(), occurredAt: new Date().toISOString() };
    return messages.map((m) => ({
      topic: m.topic,
      partition: this.topology.partitionOf(m.actor.id),
      message: envelope({ type: m.type, stream: m.topic, actor: m.actor, data: m.data }, origin),
    }));
  }

  private async executeIn<C>(
    tx: Tx,
    def: AggregateDefinition<C>,
    spec: CommandSpec<C>,
    command: string,
    id: string,
    input: unknown,
    options: ExecuteOptions,
  ): Promise<ExecuteResult<C>> {
    // A creation with a fresh id needs no read: the stream cannot exist yet.
    const before =
      options.loaded && options.tx === tx ? (options.loaded as AggregateState<C>)
      : spec.creates && options.expectedVersion === 0 ? initialState<C>(def.machine, id)
      : await this.load<C>(def.type, id, tx);
    if (options.expectedVersion !== undefined && options.expectedVersion !== before.version) {
      countCommand(def.type, command, 'conflicted');
      throw new ConcurrencyError(streamIdOf(def.type, id), options.expectedVersion);
    }
    let decided;
    try {
      decided = decideCommand(def, before, command, input);
    } catch (err) {
      if (err instanceof CommandRejectedError) countCommand(def.type, command, 'refused');
      throw err;
    }
    const { events, after } = decided;
    const stored: StoredEventLike[] = events.map((e, i) => ({ eventId: randomUUID(), type: e.type, data: e.data, version: before.version + i + 1 }));
    if (stored.length === 0) {
      countCommand(def.type, command, 'executed');
      return { state: before, events: [] };
    }
    const causation = options.causation ?? { correlationId: stored[0].eventId, causationId: stored[0].eventId };
    const carrier = currentTraceCarrier();
    const partition = this.topology.partitionOf(id);
    const origin = { ...causation, ...carrier, occurredAt: new Date().toISOString() };
    const actor = { type: def.type, id };
    const outbox: OutboxMessage[] = stored.map((e) => ({
      topic: def.topic,
      partition,
      message: envelope({ id: e.eventId, type: e.type, stream: def.topic, actor, version: e.version, data: e.data }, origin),
    }));
    const change = { id, before, after, events: stored };
    const streamId = streamIdOf(def.type, id);
    this.forgetOnRollback(tx);
    writesOf(tx).append(
      {
        streamId,
        streamType: def.type,
        expectedVersion: before.version,
        events: stored,
        metadata: { actorId: id, correlationId: causation.correlationId, causationId: causation.causationId, ...carrier },
        outbox,
        rows: rowsOf(def.projectRow?.(change)),
      },
      after,
    );
    if (def.project) {
      try {
        await def.project(tx, change);
      } catch (err) {
        throw mapWriteError(err);
      }
    }
    this.signal?.afterCommit(tx);
    if (metrics.enabled) this.countAtOutcome(tx, def, command, streamId, before, after, stored);
    this.remember(streamId, after, tx);
    if (this.snapshotEvery > 0 && Math.floor(after.version / this.snapshotEvery) > Math.floor(before.version / this.snapshotEvery)) {
      await saveSnapshot(tx, streamId, after.version, after);
    }
    return { state: after, events: stored };
  }
}
