import { z } from 'zod';
import { TIMER_FIRED, currentTraceCarrier, defineSubscription, exists, firstInTransaction, validate, type AggregateState, type ReactionContext } from '@tributary/runtime';
import { OrderReply } from '../orders/contract';
import { PAYMENT, PAYMENTS_COMMANDS_TOPIC, PaymentCommand, PaymentStatus as S, paymentsCommandsTopic } from './contract';
import { gatewayFor } from './charge-job';
import { paymentsConfig } from './config';
import { withTimeout } from './gateway';
import { SETTLE_DEADLINE } from './settle';
import type { PaymentContext } from './payment.machine';
import { amountSchema } from './payment.aggregate';
import { answerFor, declined } from './replies';
import { ensureChargeQueued } from './charge-queue';
import { paymentIdOfOrder, paymentsByIdOrOrder } from './read-model';

/** Without both ids nobody can be answered: such a message is retried and dead-lettered, visibly. */
const addressed = z.object({
  orderId: z.string().uuid('orderId must be a UUID'),
  paymentId: z.string().uuid('paymentId must be a UUID'),
});
const cancelReason = z.string().trim().min(1).max(500).catch('payment cancelled');

type State = AggregateState<PaymentContext>;

const load = (ctx: ReactionContext, paymentId: string) => ctx.services.actors.load<PaymentContext>(PAYMENT, paymentId, ctx.tx);

/** A payment id the order chose is used by one order only; anything else is a saga bug, answered, not obeyed. */
const belongsToAnotherOrder = (state: State, orderId: string) => exists(state) && state.context.orderId !== orderId;

/**
 * CREATE_PAYMENT: create the payment if it is new, queue its charge, answer PAYMENT_ACCEPTED;
 * if it exists, answer from its state (and make sure a pending payment's charge is queued).
 *
 * On the charge job and this transaction: the job is queued after this transaction commits
 * (`ctx.afterCommit`), so it never looks for a payment that is not there yet. If the process
 * dies between the commit and the queueing, the saga's deadline re-sends CREATE_PAYMENT, which
 * finds the payment pending and queues the job then. The job id (= payment id) dedupes every
 * re-add, and the job re-checks the payment's state before it charges.
 */
async function createPayment(ctx: ReactionContext): Promise<void> {
  const { orderId, paymentId } = validate(addressed, ctx.message.data);
  // One read for both questions (does it exist? has the order another one?): a payment's row
  // is written with its events, so no row means no payment.
  // Unflushed for the batch's first message about this order and payment: the writes the
  // batch buffered so far are about other payments (see firstInTransaction).
  const known = await paymentsByIdOrOrder(ctx.tx, paymentId, orderId, firstInTransaction(ctx.tx, `order:${orderId}`, `payment:${paymentId}`));
  let state: State;
  if (known.some((p) => p.paymentId === paymentId)) state = await load(ctx, paymentId);
  else {
    const other = known.find((p) => p.orderId === orderId);
    if (other) {
      await ctx.send(declined(orderId, paymentId, `order ${orderId} already has payment ${other.paymentId}`));
      return;
    }
    const amount = amountSchema.safeParse((ctx.message.data as { amount?: unknown }).amount);
    // `expectedVersion: 0`: known to be new, so the command does not read it.
    const result = amount.success
      ? await ctx.execute<PaymentContext>(PAYMENT, paymentId, 'create', { orderId, amount: amount.data }, { expectedVersion: 0 })
      : await ctx.execute<PaymentContext>(PAYMENT, paymentId, 'cancelUnknown', {
          orderId,
          reason: `invalid payment request: ${amount.error.issues[0].message}`,
        }, { expectedVersion: 0 });
    state = result ? result.state : await load(ctx, paymentId);
  }
  if (belongsToAnotherOrder(state, orderId)) {
    await ctx.send(declined(orderId, paymentId, `payment ${paymentId} belongs to another order`));
    return;
  }
  const answer = answerFor(state, orderId);
  if (answer.type === OrderReply.PAYMENT_ACCEPTED) {
    // After the commit, so the job never looks for a payment that is not there yet. If the
    // process dies in between, the saga's deadline re-sends CREATE_PAYMENT and we get here again.
    const job = { paymentId, correlationId: ctx.message.correlationId, causationId: ctx.message.id };
    const trace = currentTraceCarrier();
    ctx.afterCommit(() => ensureChargeQueued(ctx.services, job, trace));
  }
  await ctx.send(answer);
}

/**
 * CANCEL_PAYMENT: a payment not yet charged fails (PAYMENT_DECLINED); one that succeeded
 * stands (PAYMENT_CHARGED: the order proceeds); an unknown one is recorded as failed so a
 * late CREATE_PAYMENT cannot charge it. A charge running meanwhile that the gateway approves
 * is refunded by the charge job.
 */
async function cancelPayment(ctx: ReactionContext): Promise<void> {
  const { orderId, paymentId } = validate(addressed, ctx.message.data);
  const reason = cancelReason.parse((ctx.message.data as { reason?: unknown }).reason);
  const before = await load(ctx, paymentId);
  if (belongsToAnotherOrder(before, orderId)) {
    await ctx.send(declined(orderId, paymentId, `payment ${paymentId} belongs to another order`));
    return;
  }
  if (!exists(before)) {
    const other = await paymentIdOfOrder(ctx.tx, orderId);
    if (other) {
      // Another payment id of this order exists: nothing to record here (one payment per order).
      await ctx.send(declined(orderId, paymentId, reason));
      return;
    }
  }
  const result = exists(before)
    ? await ctx.execute<PaymentContext>(PAYMENT, paymentId, 'fail', { reason })
    : await ctx.execute<PaymentContext>(PAYMENT, paymentId, 'cancelUnknown', { orderId, reason });
  if (result && before.status === S.PAYMENT_PENDING) {
    // Its charge may be running, or approved and lost with a worker that died before recording
    // it. Once any call in flight has timed out, settle it (see settleCharge): durably, since
    // the charge job that would refund it lives in Redis.
    await ctx.schedule({ actor: { type: PAYMENT, id: paymentId }, name: SETTLE_DEADLINE, topic: PAYMENTS_COMMANDS_TOPIC, inMs: paymentsConfig().gatewayTimeoutMs + 1_000 });
  }
  // Refused (already succeeded or failed): the state answers.
  await ctx.send(answerFor(result ? result.state : before, orderId));
}

/**
 * A failed payment must have no charge standing. When the gateway holds an approved charge
 * for it (the saga cancelled the payment while the charge was being approved, and the job
 * that would have refunded it died with its worker, or with Redis's data), the charge job is
 * queued again: it finds the payment failed, refunds the charge and records the refund. The
 * deadline fires again (every TIMER_REARM_MS) until the refund is recorded or the gateway
 * holds no approved charge.
 */
async function settleCharge(ctx: ReactionContext): Promise<void> {
  const paymentId = ctx.message.actor.id;
  const state = await load(ctx, paymentId);
  const owed = state.status === S.PAYMENT_FAILED && state.context.refundedChargeId === null && state.context.amountCents !== null;
  const cfg = paymentsConfig();
  const held = owed ? await withTimeout(cfg.gatewayTimeoutMs, 'lookup', (signal) => gatewayFor(ctx.services, cfg).lookup(paymentId, signal)) : undefined;
  if (!held?.approved) {
    await ctx.cancel({ type: PAYMENT, id: paymentId }, SETTLE_DEADLINE);
    return;
  }
  ctx.log.warn({ paymentId, chargeId: held.chargeId }, 'an approved charge stands for a failed payment: queueing its refund');
  const job = { paymentId, correlationId: ctx.message.correlationId, causationId: ctx.message.id };
  const trace = currentTraceCarrier();
  ctx.afterCommit(() => ensureChargeQueued(ctx.services, job, trace));
}

/** The order saga's commands to payments. */
export const sagaCommands = defineSubscription({
  name: 'saga',
  topics: [paymentsCommandsTopic],
  types: [PaymentCommand.CREATE_PAYMENT, PaymentCommand.CANCEL_PAYMENT, TIMER_FIRED],
  async handle(ctx) {
    // The payloads are typed by the contract; createPayment and cancelPayment still validate
    // them, since another deployment's saga may send anything.
    if (ctx.message.type === PaymentCommand.CREATE_PAYMENT) await createPayment(ctx);
    else if (ctx.message.type === PaymentCommand.CANCEL_PAYMENT) await cancelPayment(ctx);
    else if (ctx.message.data.name === SETTLE_DEADLINE) await settleCharge(ctx);
  },
});
