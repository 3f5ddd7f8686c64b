import type { AnyStateMachine } from 'xstate';
import type { ZodType } from 'zod';
import type { Tx } from '../store/database';
import type { StoredEvent } from '../store/event-store';
import type { RowUpsert } from '../store/write-buffer';

/** What a command asks the machine to accept. */
export interface DomainEvent<T extends string = string, D = Record<string, unknown>> {
  type: T;
  data: D;
}

/** An aggregate's current state, as folded from its events by its machine. */
export interface AggregateState<C = Record<string, unknown>> {
  id: string;
  /** The machine's state value: the aggregate's status; `NEW_STATE` before it exists. */
  status: string;
  context: C;
  /** Number of events in its stream; 0 when it does not exist. */
  version: number;
}

/** The machine state of an aggregate that has no events yet. */
export const NEW_STATE = 'new';

export const exists = (s: AggregateState<unknown>) => s.version > 0;

/**
 * A command: the event it asks for, and the message when the machine says no.
 * Whether it is allowed is never hand-kept: it is `machine.can(event)` in the current state,
 * which is also how `GET .../commands` lists the commands allowed now.
 */
export interface CommandSpec<C = any, I = any> {
  /** The event it asks for; with `decide`, the first of its events (used to list allowed commands). */
  event: string;
  /**
   * Several events, or events whose data depends on the state. Each is checked by the
   * machine in turn; the first it refuses rejects the whole command.
   */
  decide?: (input: I, state: AggregateState<C>) => DomainEvent[];
  /** Input schema (query or body); omitted for commands without input. */
  input?: ZodType<I>;
  /** Data of the event; defaults to the validated input. */
  data?: (input: I, state: AggregateState<C>) => Record<string, unknown>;
  /** Why the current state refuses the command (the seed's guard messages). */
  rejection: (state: AggregateState<C>) => string;
  /** Creates the aggregate (allowed only while it does not exist). */
  creates?: boolean;
  /** Listed in the commands resource and reachable over HTTP; false for internal commands. */
  public?: boolean;
}

/** The change one command made, given to projections inside its transaction. */
export interface Change<C = any> {
  id: string;
  before: AggregateState<C>;
  after: AggregateState<C>;
  events: StoredEventLike[];
}

export type StoredEventLike = Pick<StoredEvent, 'eventId' | 'type' | 'data' | 'version'>;

export interface AggregateDefinition<C = any> {
  /** Actor type, e.g. `account`; also the HAL rel of one resource. */
  type: string;
  /** Redis topic its events are published on, e.g. `accounts`. */
  topic: string;
  /**
   * Its behaviour: states are statuses, transitions are its event types; context assigns
   * come from `event.data`. Folding the event log through it gives the current state.
   */
  machine: AnyStateMachine;
  commands: Record<string, CommandSpec<C>>;
  /** Keeps the context's read model in step, in the same transaction as the events. */
  project?: (tx: Tx, change: Change<C>) => Promise<void>;
  /**
   * The read model's rows after the change, declared: written in the same statement as the
   * events, and for many changes in one transaction as one multi-row insert per table.
   * Cheaper than `project`; use `project` for anything else (a delete, a query).
   */
  projectRow?: (change: Change<C>) => RowUpsert | readonly RowUpsert[];
  /** Messages for unique constraints of the read model: a violation is a 409 with that message. */
  uniqueViolations?: Record<string, string>;
  /** Where the read model keeps each aggregate's status and version (checked against the log by `npm run check`). */
  readModel?: { table: string; id: string; status: string; version: string };
  /**
   * Event types that undo an earlier step (a release, a refund, a failure that triggers
   * compensation): the console marks them in a correlation's timeline.
   */
  compensations?: readonly string[];
}

export function defineAggregate<C>(definition: AggregateDefinition<C>): AggregateDefinition<C> {
  for (const [name, spec] of Object.entries(definition.commands)) {
    if (!spec.event) throw new Error(`Command ${definition.type}.${name} names no event`);
  }
  return definition;
}
