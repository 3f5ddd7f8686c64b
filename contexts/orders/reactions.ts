import { randomUUID } from 'node:crypto';
import { Attr, SpanNames, TIMER_FIRED, defineSubscription, exists, inSpan, type AggregateState, type Envelope, type ReactionContext, type Subscription } from '@tributary/runtime';
import { ACCOUNT } from '../accounts/contract';
import { ORDER, ORDERS_COMMANDS_TOPIC, OrderReply, OrderStatus, ordersCommandsTopic, ordersTopic } from './contract';
import { OrderEventType as E, type OrderContext } from './order.machine';
import { COMPENSATIONS, DEADLINE, decideSaga, type SagaDecision } from './order.saga';
import type { SagaSettings } from './settings';

const TERMINAL: readonly string[] = [OrderStatus.ORDER_SUCCEEDED, OrderStatus.ORDER_FAILED];
/** Bounds the steps one message may chain (the longest chain is two). */
const MAX_CHAINED_STEPS = 4;

/**
 * The order saga's worker: for ORDER_CREATED, each reply and each deadline, it asks
 * `decideSaga` what to do and does it in the message's transaction: the order's command, the
 * messages it sends and its next deadline commit together.
 *
 * A step whose own event starts the next step (ACCOUNT_CONNECTED → reserve inventory,
 * RESERVATION_SUCCEEDED → create the payment, ...) runs that next step at once, in the same
 * transaction, as a span of its own: one hop less per step. When the event itself arrives
 * later, the order has moved on and the saga does nothing; if a chained step could not run
 * (the process died), the order's `resume` deadline runs it.
 */
export function orderSaga(settings: SagaSettings): Subscription {
  return defineSubscription({
    name: 'saga',
    topics: [ordersTopic, ordersCommandsTopic],
    types: [E.ORDER_CREATED, ...Object.values(OrderReply), TIMER_FIRED],
    async handle(ctx) {
      const { message, tx, services } = ctx;
      const orderId = message.actor.id;
      let order = await services.actors.load<OrderContext>(ORDER, orderId, tx);
      if (!exists(order)) {
        ctx.log.warn({ type: message.type, orderId }, 'saga message for an unknown order; ignored');
        return;
      }
      let next: Envelope | undefined = message;
      for (let steps = 0; next && steps < MAX_CHAINED_STEPS; steps++) {
        const accountStatus = order.status === OrderStatus.ORDER_CREATED ? (await services.actors.load(ACCOUNT, order.context.accountId, tx)).status : undefined;
        const decision = decideSaga(order, next, { accountStatus, newId: randomUUID }, settings);
        if (!decision) {
          // A finished order needs no deadline: stop one that outlived it.
          if (next.type === TIMER_FIRED && TERMINAL.includes(order.status)) await ctx.cancel({ type: ORDER, id: orderId }, DEADLINE);
          return;
        }
        const after = await applyDecision(ctx, order, decision, next);
        if (!after) return;
        // The step's last event, as the saga would receive it: it may start the next step.
        next = after.lastEvent ? { ...message, id: after.lastEvent.id, type: after.lastEvent.type, data: after.lastEvent.data } : undefined;
        order = after.state;
      }
    },
  });
}

/** Runs one decision in its span; returns the order after it (and its last event), or undefined if the order refused. */
async function applyDecision(ctx: ReactionContext, order: AggregateState<OrderContext>, decision: SagaDecision, cause: Envelope) {
  const orderId = order.id;
  const name = COMPENSATIONS.has(decision.step) ? SpanNames.compensation(decision.step) : SpanNames.sagaStep(decision.step);
  return inSpan(name, { attributes: { [Attr.orderId]: orderId, [Attr.correlationId]: cause.correlationId, [Attr.messageType]: cause.type } }, async () => {
    let state = order;
    let lastEvent: { id: string; type: string; data: Record<string, unknown> } | undefined;
    if (decision.command) {
      const done = await ctx.execute<OrderContext>(ORDER, orderId, decision.command.name, decision.command.input, { loaded: order });
      if (!done) return undefined; // the order's state refused: nothing else happens
      state = done.state;
      const last = done.events[done.events.length - 1];
      if (last) lastEvent = { id: last.eventId, type: last.type, data: (last.data ?? {}) as Record<string, unknown> };
    }
    if (decision.send.length) await ctx.send(...decision.send);
    const actor = { type: ORDER, id: orderId };
    if (decision.deadline === 'clear') await ctx.cancel(actor, DEADLINE);
    else if (decision.deadline) {
      const { step, attempt, status, inMs } = decision.deadline;
      await ctx.schedule({ actor, name: DEADLINE, topic: ORDERS_COMMANDS_TOPIC, inMs, data: { step, attempt, status } });
    }
    return { state, lastEvent };
  });
}
