/**
 * Typed messages: a contract declares what a topic carries as a map from message type to
 * payload type, and a subscription over such topics receives `ctx.message` as the union of
 * those messages, narrowed by `message.type`. Types only: nothing here checks a payload at
 * run time (a reaction that must survive foreign input still validates it).
 */
import type { Envelope } from './envelope';
import type { TIMER_FIRED } from '../store/timers';

/** A message of type `T` carrying `D`, as a reaction receives it. */
export type Message<T extends string = string, D = unknown> = Envelope<D> & { type: T };

/**
 * A topic and the messages published on it: `M` maps each message type to its payload
 * (`{ ORDER_SUCCEEDED: OrderSucceededData; ... }`). `messages` is never set: it only carries `M`.
 */
export interface Topic<M extends object = object> {
  readonly name: string;
  readonly messages?: M;
}

/** Declares a topic of a contract: `defineTopic<OrderMessages>('orders')`. */
export function defineTopic<M extends object>(name: string): Topic<M> {
  return { name };
}

/** The messages of a map, as a discriminated union on `type`. */
export type MessageIn<M> = M extends object ? { [T in keyof M & string]: Message<T, M[T]> }[keyof M & string] : never;

/** The message map of a topic (a union of topics gives a union of maps). */
export type MessagesOf<T> = T extends Topic<infer M> ? M : never;

/** The messages any of these topics carries. */
export type TopicMessage<T extends Topic> = MessageIn<MessagesOf<T>>;

/**
 * What a due timer sends on the topic it names: `TIMER_FIRED` with `{ name, ...data }`.
 * Add it to a topic's map when the topic carries timers.
 */
export interface TimerMessages {
  [TIMER_FIRED]: { name: string } & Record<string, unknown>;
}
