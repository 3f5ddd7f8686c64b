import { Attr, SpanNames, defineSubscription, inSpan, type Envelope, type ReactionContext, type Subscription } from '@tributary/runtime';
import { ORDER, ORDERS_COMMANDS_TOPIC, OrderReply } from '../orders/contract';
import { INVENTORY, INVENTORY_TOPIC, WarehouseCommand, warehouseCommandsTopic } from './contract';
import { InventoryEventType } from './events';
import { commit, release, reserve, type Step } from './allocation';
import { orderCommandData, reserveInventoryData } from './schemas';

/** The worker makes every new unit available (the seed did this by forcing a status, with no event). */
export const availability: Subscription = {
  name: 'availability',
  topics: [INVENTORY_TOPIC],
  types: [InventoryEventType.INVENTORY_CREATED],
  async handle({ message, execute }) {
    await execute(INVENTORY, message.actor.id, 'makeAvailable');
  },
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The order a saga command is about: its data's orderId, else the order actor it is addressed to. */
function orderIdOf(message: Envelope): string | undefined {
  const fromData = (message.data as { orderId?: unknown } | null)?.orderId;
  if (typeof fromData === 'string' && UUID.test(fromData)) return fromData.toLowerCase();
  if (message.actor.type === ORDER && UUID.test(message.actor.id)) return message.actor.id.toLowerCase();
  return undefined;
}

const stepOf = (ctx: ReactionContext): Step => ({
  tx: ctx.tx,
  services: ctx.services,
  log: ctx.log,
  causation: { correlationId: ctx.message.correlationId, causationId: ctx.message.id },
});

async function answer(ctx: ReactionContext, orderId: string, type: string, data: Record<string, unknown>): Promise<void> {
  await ctx.send({ topic: ORDERS_COMMANDS_TOPIC, type, actor: { type: ORDER, id: orderId }, data: { orderId, ...data } });
}

async function onReserve(ctx: ReactionContext, orderId: string): Promise<void> {
  const parsed = reserveInventoryData.safeParse(ctx.message.data);
  if (!parsed.success) {
    // A malformed request can never succeed: answer it (the saga fails the order) rather than retry it.
    const reason = `invalid RESERVE_INVENTORY: ${parsed.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ')}`;
    return answer(ctx, orderId, OrderReply.INVENTORY_UNAVAILABLE, { reason });
  }
  const outcome = await reserve(stepOf(ctx), orderId, parsed.data.lines);
  if (outcome.kind === 'reserved') {
    return answer(ctx, orderId, OrderReply.INVENTORY_RESERVED, { warehouseId: outcome.warehouseId, reservationIds: outcome.reservationIds });
  }
  return answer(ctx, orderId, OrderReply.INVENTORY_UNAVAILABLE, { reason: outcome.reason });
}

async function onRelease(ctx: ReactionContext, orderId: string): Promise<void> {
  const reason = orderCommandData.safeParse(ctx.message.data).data?.reason?.trim() || 'the order was cancelled';
  const { sold } = await release(stepOf(ctx), orderId, reason);
  if (sold.length > 0) {
    // Should not happen in the saga (a sold order is never compensated); a sale is never undone here.
    ctx.log.error({ orderId, sold }, 'RELEASE_INVENTORY for an order whose units are sold; sold units stay sold');
    return answer(ctx, orderId, OrderReply.INVENTORY_RELEASED, { notReleased: sold });
  }
  return answer(ctx, orderId, OrderReply.INVENTORY_RELEASED, {});
}

async function onCommit(ctx: ReactionContext, orderId: string): Promise<void> {
  const { sold, succeeded } = await commit(stepOf(ctx), orderId);
  if (succeeded === 0) ctx.log.error({ orderId }, 'COMMIT_INVENTORY for an order with no succeeded reservation; nothing sold');
  return answer(ctx, orderId, OrderReply.INVENTORY_COMMITTED, { inventoryIds: sold });
}

const steps: Record<string, { span: string; run: (ctx: ReactionContext, orderId: string) => Promise<void> }> = {
  [WarehouseCommand.RESERVE_INVENTORY]: { span: SpanNames.sagaStep('reserveInventory'), run: onReserve },
  [WarehouseCommand.RELEASE_INVENTORY]: { span: SpanNames.compensation('releaseInventory'), run: onRelease },
  [WarehouseCommand.COMMIT_INVENTORY]: { span: SpanNames.sagaStep('commitInventory'), run: onCommit },
};

/**
 * The order saga's warehouse steps. Each runs in the consumer's transaction and always
 * answers on `orders.commands`; each is idempotent, since a step past its deadline is
 * re-sent and must be answered again with the same reply.
 */
export const saga = defineSubscription({
  name: 'saga',
  topics: [warehouseCommandsTopic],
  types: Object.values(WarehouseCommand),
  async handle(ctx) {
    const step = steps[ctx.message.type];
    const orderId = orderIdOf(ctx.message);
    // Nobody to answer: retrying cannot help, so it goes to the dead letters with this error.
    if (!orderId) throw new Error(`${ctx.message.type} names no order (data.orderId or an order actor)`);
    await inSpan(
      step.span,
      { attributes: { [Attr.orderId]: orderId, [Attr.correlationId]: ctx.message.correlationId, [Attr.messageType]: ctx.message.type } },
      () => step.run(ctx, orderId),
    );
  },
});
