/**
 * The one message shape: the same in the outbox row, the Redis stream entry, the inbox
 * and the dead-letter stream.
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
