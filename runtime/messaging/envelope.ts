import { randomUUID } from 'node:crypto';
import type { TraceCarrier } from '../telemetry/propagation';

/**
 * The one message shape: the same in the outbox row, the Redis stream entry and the
 * dead-letter stream. The inbox holds only its `id` (per consumer group), to dedupe.
 */
export interface ActorRef {
  type: string;
  id: string;
}

export interface Envelope<T = unknown> {
  /** Unique message id (uuid); for an event, its event id. The inbox dedupes on it. */
  id: string;
  type: string;
  /** Logical stream (topic) it is published on, e.g. `accounts`. */
  stream: string;
  /** The actor it is about (events) or addressed to (commands). */
  actor: ActorRef;
  /** Stream version of the event; 0 for commands. */
  version: number;
  /** The business transaction (e.g. an order) this message belongs to. */
  correlationId: string;
  /** The message that caused this one; equals id for the first message of a transaction. */
  causationId: string;
  traceparent?: string;
  tracestate?: string;
  occurredAt: string;
  data: T;
}

/** What a new message says; {@link envelope} adds the id (unless given), causation and trace context. */
export interface MessageSpec<T = unknown> {
  /** Its id; a fresh uuid when omitted (an event's is its event id). */
  id?: string;
  type: string;
  stream: string;
  actor: ActorRef;
  /** Stream version of an event; 0 (the default) for commands and timers. */
  version?: number;
  data: T;
}

/** Where a new message comes from: shared by the messages of one write (computed once per batch). */
export interface MessageOrigin extends TraceCarrier {
  correlationId: string;
  /** The message that caused it; the message's own id when omitted (the first of a business transaction). */
  causationId?: string;
  occurredAt: string;
}

/**
 * Builds a message envelope: the one place where a message's id, correlation, causation and
 * trace context are put together (events appended by an actor, messages it sends, timers that fire).
 */
export function envelope<T>(m: MessageSpec<T>, origin: MessageOrigin): Envelope<T> {
  const id = m.id ?? randomUUID();
  return {
    id,
    type: m.type,
    stream: m.stream,
    actor: m.actor,
    version: m.version ?? 0,
    correlationId: origin.correlationId,
    causationId: origin.causationId ?? id,
    // Only the trace fields that are set: the stored JSON carries no empty keys.
    ...(origin.traceparent ? { traceparent: origin.traceparent } : {}),
    ...(origin.tracestate ? { tracestate: origin.tracestate } : {}),
    occurredAt: origin.occurredAt,
    data: m.data,
  };
}
