import type { AnyStateMachine } from 'xstate';
import type { ZodType } from 'zod';
import type { Tx } from '../store/database';
import type { StoredEvent } from '../store/event-store';
import type { RowUpsert } from '../store/write-buffer';

/**
 * What a command asks the machine to accept. An aggregate's events are a discriminated union
 * of these (`{ type: 'A'; data: AData } | { type: 'B'; data: BData }`), shared by its machine,
 * its commands and its projection, so that `tsc` refuses a payload of the wrong shape.
 */
export interface DomainEvent<T extends string = string, D = unknown> {
  type: T;
  data: D;
}

/**
 * An aggregate's events as a union, from a map of event type to payload (the same map a
 * contract publishes them under: `EventsOf<OrderEvents>`).
 */
export type EventsOf<M extends object> = { [T in keyof M & string]: DomainEvent<T, M[T]> }[keyof M & string];

/** The member of an event union `E` with type `T`. */
export type EventOfType<E extends DomainEvent, T extends E['type']> = Extract<E, { type: T }>;

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

/** What every command declares, whatever event it asks for. */
interface CommandBase<C, E extends DomainEvent, I> {
  /**
   * Several events, or events whose data depends on the state. Each is checked by the
   * machine in turn; the first it refuses rejects the whole command.
   */
  decide?(input: I, state: AggregateState<C>): E[];
  /** Input schema (query or body); omitted for commands without input. */
  input?: ZodType<I>;
  /** Why the current state refuses the command (the seed's guard messages). */
  rejection(state: AggregateState<C>): string;
  /** Creates the aggregate (allowed only while it does not exist). */
  creates?: boolean;
  /** Listed in the commands resource and reachable over HTTP; false for internal commands. */
  public?: boolean;
}

/**
 * A command: the event it asks for, and the message when the machine says no. Whether it is
 * allowed is never hand-kept: it is `machine.can(event)` in the current state, which is also
 * how `GET .../commands` lists the commands allowed now.
 *
 * One member per event type of `E`: `data` must return that event's payload type. (Inputs
 * differ per command; `data` and `decide` are methods, so each may declare its own.)
 */
export type CommandSpec<C = unknown, E extends DomainEvent = DomainEvent, I = unknown> = CommandFor<C, E, E, I>;

/** One member of {@link CommandSpec} per member `Each` of `E` (distributive: unions stay checked structurally). */
type CommandFor<C, E extends DomainEvent, Each, I> = Each extends DomainEvent
  ? CommandBase<C, E, I> & {
      /** The event it asks for; with `decide`, the first of its events (used to list allowed commands). */
      event: Each['type'];
      /** Data of the event; defaults to the validated input. */
      data?(input: I, state: AggregateState<C>): Each['data'];
    }
  : never;

/** The change one command made, given to projections inside its transaction. */
export interface Change<C = unknown, E extends DomainEvent = DomainEvent> {
  id: string;
  before: AggregateState<C>;
  after: AggregateState<C>;
  events: StoredEventLike<E>[];
}

/** An event as stored: one of the aggregate's events, with its id and stream version. */
export type StoredEventLike<E extends DomainEvent = DomainEvent> = E & Pick<StoredEvent, 'eventId' | 'version'>;

/** An aggregate: `C` its machine's context, `E` the union of its events. */
export interface AggregateDefinition<C = unknown, E extends DomainEvent = DomainEvent> {
  /** Actor type, e.g. `account`; also the HAL rel of one resource. */
  type: string;
  /** Redis topic its events are published on, e.g. `accounts`. */
  topic: string;
  /**
   * Its behaviour: states are statuses, transitions are its event types; context assigns
   * come from `event.data`. Folding the event log through it gives the current state.
   */
  machine: AnyStateMachine;
  commands: Record<string, CommandSpec<C, E>>;
  /** Keeps the context's read model in step, in the same transaction as the events. */
  project?(tx: Tx, change: Change<C, E>): Promise<void>;
  /**
   * The read model's rows after the change, declared: written in the same statement as the
   * events, and for many changes in one transaction as one multi-row insert per table.
   * Cheaper than `project`; use `project` for anything else (a delete, a query).
   */
  projectRow?(change: Change<C, E>): RowUpsert | readonly RowUpsert[];
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

/**
 * Declares an aggregate (`defineAggregate<OrderContext, OrderEvent>({...})`): checks that
 * every command names its event. With the event union given, each command's `data` and
 * `decide`, and the projection's events, are typed by it.
 */
export function defineAggregate<C, E extends DomainEvent = DomainEvent>(definition: AggregateDefinition<C, E>): AggregateDefinition<C, E> {
  for (const [name, spec] of Object.entries(definition.commands)) {
    if (!spec.event) throw new Error(`Command ${definition.type}.${name} names no event`);
  }
  return definition;
}
