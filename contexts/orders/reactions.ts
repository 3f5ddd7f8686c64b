import { randomUUID } from 'node:crypto';
import { Attr, SpanNames, TIMER_FIRED, exists, inSpan, type Subscription } from '../../runtime';
import { ACCOUNT } from '../accounts/contract';
import { ORDER, ORDERS_COMMANDS_TOPIC, ORDERS_TOPIC, OrderReply, OrderStatus } from './contract';

const TERMINAL: readonly string[] = [OrderStatus.ORDER_SUCCEEDED, OrderStatus.ORDER_FAILED];
import { OrderEventType as E, type OrderContext } from './order.machine';
import { COMPENSATIONS, DEADLINE, decideSaga } from './order.saga';
import type { SagaSettings } from './settings';

/**
 * The order saga's worker: for each of the order's own events, each reply and each
 * deadline, it asks `decideSaga` what to do and does it in the message's transaction —
 * the order's command, the messages it sends and its next deadline commit together.
 */
export function orderSaga(settings: SagaSettings): Subscription {
  return {
    name: 'saga',
    topics: [ORDERS_TOPIC, ORDERS_COMMANDS_TOPIC],
    types: [
      E.ORDER_CREATED, E.ACCOUNT_CONNECTED, E.RESERVATION_SUCCEEDED, E.RESERVATION_FAILED, E.PAYMENT_SUCCEEDED, E.PAYMENT_FAILED,
      ...Object.values(OrderReply), TIMER_FIRED,
    ],
    async handle(ctx) {
      const { message, tx, services } = ctx;
      const orderId = message.actor.id;
      const order = await services.actors.load<OrderContext>(ORDER, orderId, tx);
      if (!exists(order)) {
        ctx.log.warn({ type: message.type, orderId }, 'saga message for an unknown order; ignored');
        return;
      }
      const accountStatus = order.status === OrderStatus.ORDER_CREATED ? (await services.actors.load(ACCOUNT, order.context.accountId, tx)).status : undefined;
      const decision = decideSaga(order, message, { accountStatus, newId: randomUUID }, settings);
      if (!decision) {
        // A finished order needs no deadline: stop one that outlived it.
        if (message.type === TIMER_FIRED && TERMINAL.includes(order.status)) await ctx.cancel({ type: ORDER, id: orderId }, DEADLINE);
        return;
      }
      const name = COMPENSATIONS.has(decision.step) ? SpanNames.compensation(decision.step) : SpanNames.sagaStep(decision.step);
      await inSpan(name, { attributes: { [Attr.orderId]: orderId, [Attr.correlationId]: message.correlationId, [Attr.messageType]: message.type } }, async () => {
        if (decision.command) {
          const done = await ctx.execute(ORDER, orderId, decision.command.name, decision.command.input, { loaded: order });
          if (!done) return; // the order's state refused: nothing else happens
        }
        if (decision.send.length) await ctx.send(...decision.send);
        const actor = { type: ORDER, id: orderId };
        if (decision.deadline === 'clear') await ctx.cancel(actor, DEADLINE);
        else if (decision.deadline) {
          const { step, attempt, status, inMs } = decision.deadline;
          await ctx.schedule({ actor, name: DEADLINE, topic: ORDERS_COMMANDS_TOPIC, inMs, data: { step, attempt, status } });
        }
      });
    },
  };
}
