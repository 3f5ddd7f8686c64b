import { writesOf } from './store/database';
import { CommandRejectedError } from './errors';
import { currentTraceCarrier } from './telemetry/propagation';
import type { MessageHandler } from './messaging/stream-consumer';
import type { ReactionContext, RuntimeServices, Subscription } from './context';

/** Adapts a context's subscription to the consumer: the reaction context (the consumer's `accepts` filters the types). */
export function reactionHandler(s: Subscription, services: RuntimeServices): MessageHandler {
  return async (message, tx, delivery) => {
    const causation = { correlationId: message.correlationId, causationId: message.id };
    const ctx: ReactionContext = {
      message,
      tx,
      delivery,
      log: services.log,
      services,
      async execute(type, id, command, input, options) {
        try {
          return await services.actors.execute(type, id, command, input, { tx, causation, loaded: options?.loaded, expectedVersion: options?.expectedVersion });
        } catch (err) {
          if (err instanceof CommandRejectedError) {
            services.log.debug({ type, id, command, reason: err.message, cause: message.type }, 'reaction command refused by state; no effect');
            return undefined;
          }
          throw err;
        }
      },
      // Buffered, and written with the batch's other writes in one statement (see WriteBuffer).
      send: async (...messages) => writesOf(tx).send(services.actors.envelopes(messages, causation)),
      schedule: async (t) =>
        tx.schedule({
          actor: t.actor,
          name: t.name,
          topic: t.topic,
          data: t.data,
          dueAt: new Date(Date.now() + t.inMs),
          correlationId: message.correlationId,
          ...currentTraceCarrier(),
        }),
      cancel: async (actor, name) => tx.cancel(actor, name),
      afterCommit: (fn) => delivery.afterCommit(fn),
    };
    await s.handle(ctx);
  };
}
