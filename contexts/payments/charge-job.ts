import type { Span } from '@opentelemetry/api';
import type { Job } from 'bullmq';
import {
  Attr, CommandRejectedError, ConcurrencyError, FunctionError, SpanNames, contextFromCarrier, exists, inSpan, invokeFunction, isDue,
  retryOnConflict, type AggregateState, type Causation, type JobProcessor, type RuntimeServices,
} from '@tributary/runtime';
import { PAYMENT, PaymentStatus as S } from './contract';
import type { PaymentContext } from './payment.machine';
import { paymentsConfig, type PaymentsConfig } from './config';
import { withTimeout, type ChargeResult, type PaymentGateway } from './gateway';
import { GatewaySimulator } from './gateway-simulator';
import { CHARGE_QUEUE, type ChargeJobData } from './charge-queue';
import { answerFor } from './replies';
import { SETTLE_DEADLINE } from './settle';
import { chargeOnPending, chargePayment } from './charge-function';

export const GATEWAY_UNAVAILABLE = 'payment gateway unavailable';
/** The reason of a payment whose charge function refused the charge (a 4xx): never retried. */
export const CHARGE_REFUSED = 'payment charge refused';

const CONFLICT_RUNS = 3;

/** The gateway this deployment charges through: the bundled simulator. */
export function gatewayFor(services: RuntimeServices, cfg: PaymentsConfig): PaymentGateway {
  return new GatewaySimulator(services.db, { latencyMs: cfg.gatewayLatencyMs, declineRate: cfg.declineRate });
}

type State = AggregateState<PaymentContext>;

/**
 * Runs one payment command and, if the state accepted it, answers the order from the new
 * state, in ONE transaction. Returns whether it was accepted and the state after. A
 * concurrent writer (a CANCEL_PAYMENT committing at the same moment) makes it decide again
 * on the fresh state.
 */
async function decideAndAnswer(
  services: RuntimeServices,
  paymentId: string,
  command: 'recordCharge' | 'fail',
  input: Record<string, unknown>,
  causation: Causation,
): Promise<{ accepted: boolean; state: State }> {
  // The payment's cached state is used as it is and checked when the transaction commits
  // (a stale one fails it with ConcurrencyError: decided again, up to CONFLICT_RUNS runs).
  return retryOnConflict(
    () =>
      services.db.transaction(async (tx) => {
        try {
          const { state, events } = await services.actors.execute<PaymentContext>(PAYMENT, paymentId, command, input, { tx, causation });
          const cause = events.at(-1)?.eventId ?? causation.causationId;
          await services.actors.send(tx, [answerFor(state)], { correlationId: causation.correlationId, causationId: cause });
          return { accepted: true, state };
        } catch (err) {
          // Refused before anything was written: the transaction is still usable.
          if (err instanceof CommandRejectedError) return { accepted: false, state: await services.actors.load<PaymentContext>(PAYMENT, paymentId, tx) };
          throw err;
        }
      }, { optimistic: true }),
    CONFLICT_RUNS,
  );
}

/**
 * Gives back a charge the gateway approved for a payment that had failed meanwhile (the
 * saga cancelled it while the gateway was deciding), and records it on the payment. The
 * charge id is saved on the job first, so if the refund itself fails, the retry finishes it.
 */
async function refund(job: Job<ChargeJobData>, services: RuntimeServices, gateway: PaymentGateway, cfg: PaymentsConfig, chargeId: string, causation: Causation) {
  const { paymentId } = job.data;
  if (job.data.refundChargeId !== chargeId) await job.updateData({ ...job.data, refundChargeId: chargeId });
  try {
    await withTimeout(cfg.gatewayTimeoutMs, 'refund', (signal) => gateway.refund(chargeId, signal));
  } catch (err) {
    const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (last) services.log.error({ paymentId, chargeId, err: (err as Error).message }, 'refund failed on the last attempt: an approved charge stands for a failed payment; refund it by hand');
    throw err;
  }
  services.log.warn({ paymentId, chargeId }, 'charge approved after the payment had failed: refunded');
  try {
    await services.db.transaction(async (tx) => {
      await services.actors.execute(PAYMENT, paymentId, 'recordRefund', { chargeId }, { tx, causation });
      // Nothing stands any more: the payment's settle deadline (reactions.ts) has done its work.
      tx.cancel({ type: PAYMENT, id: paymentId }, SETTLE_DEADLINE);
    });
  } catch (err) {
    if (!(err instanceof CommandRejectedError) && !(err instanceof ConcurrencyError)) throw err; // already recorded
  }
}

async function charge(job: Job<ChargeJobData>, services: RuntimeServices, span: Span): Promise<string> {
  const { paymentId } = job.data;
  const cfg = paymentsConfig();
  const gateway = gatewayFor(services, cfg);
  const causation: Causation = { correlationId: job.data.correlationId, causationId: job.data.causationId };
  const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);

  if (job.data.refundChargeId) {
    await refund(job, services, gateway, cfg, job.data.refundChargeId, causation);
    return 'refunded';
  }

  // The job is queued after the payment's transaction commits (reactions.ts, afterCommit).
  const state = await services.actors.load<PaymentContext>(PAYMENT, paymentId);
  if (!exists(state)) {
    // No such payment (a job queued by hand, or its data is gone): never charge it.
    if (lastAttempt) {
      services.log.warn({ paymentId }, 'charge job dropped: the payment does not exist');
      return 'no payment';
    }
    throw new Error(`payment ${paymentId} does not exist`);
  }
  if (state.context.orderId) span.setAttribute(Attr.orderId, state.context.orderId);
  if (state.status === S.PAYMENT_FAILED && state.context.refundedChargeId === null && state.context.amountCents !== null) {
    // An earlier attempt may have been approved and then lost (crash) before it was recorded,
    // while the saga cancelled the payment: no charge may stand for a failed payment.
    const held = await withTimeout(cfg.gatewayTimeoutMs, 'lookup', (signal) => gateway.lookup(paymentId, signal));
    if (held?.approved) {
      await refund(job, services, gateway, cfg, held.chargeId, causation);
      return 'refunded';
    }
  }
  if (!isDue(chargeOnPending, state)) return `nothing to do: ${state.status}`;

  let result: ChargeResult;
  try {
    // The charge is the function `chargePayment`, run where FUNCTIONS says (default: here, in
    // this job); its span joins the order's trace as a child of this job's.
    result = await invokeFunction(chargePayment(gateway, cfg), chargeOnPending.input(state), {
      idempotencyKey: chargeOnPending.idempotencyKey(state),
      jobAttempt: job.attemptsMade + 1,
      attributes: { [Attr.actorType]: PAYMENT, [Attr.actorId]: paymentId, ...(state.context.orderId ? { [Attr.orderId]: state.context.orderId } : {}) },
    });
  } catch (err) {
    // Gateway errors and timeouts are retried with backoff by BullMQ; after the last one the
    // payment fails. A function that refused the charge (a 4xx) will refuse it again: no retry.
    const refused = err instanceof FunctionError && !err.retryable;
    if (!lastAttempt && !refused) throw err;
    // Before giving up, ask whether the gateway took the charge after all (a timeout can
    // hide an approval): if it did, the payment succeeded and must not fail with a charge standing.
    const held = await withTimeout(cfg.gatewayTimeoutMs, 'lookup', (signal) => gateway.lookup(paymentId, signal)).catch(() => undefined);
    if (held?.approved) result = { approved: true, chargeId: held.chargeId };
    else {
      services.log.warn({ paymentId, err: (err as Error).message, attempts: job.attemptsMade + 1 }, refused ? 'payment charge refused: payment failed' : 'payment gateway unavailable: payment failed');
      await decideAndAnswer(services, paymentId, 'fail', { reason: refused ? CHARGE_REFUSED : GATEWAY_UNAVAILABLE }, causation);
      return refused ? 'refused' : 'gateway unavailable';
    }
  }

  if (!result.approved) {
    // A decline is an answer, not an error: never retried.
    await decideAndAnswer(services, paymentId, 'fail', { reason: result.reason }, causation);
    return 'declined';
  }
  const recorded = await decideAndAnswer(services, paymentId, 'recordCharge', { chargeId: result.chargeId }, causation);
  if (!recorded.accepted && recorded.state.status === S.PAYMENT_FAILED) {
    await refund(job, services, gateway, cfg, result.chargeId, causation);
    return 'refunded';
  }
  return 'charged';
}

/** The charge worker: one job per payment on `payments.charge`, its span joining the order's trace. */
export const chargeJob: JobProcessor = {
  queue: CHARGE_QUEUE,
  // A getter: the runtime reads it when it starts the worker, after the environment is set.
  get concurrency() {
    return paymentsConfig().chargeConcurrency;
  },
  process(job: Job<ChargeJobData>, services) {
    const parent = contextFromCarrier({ traceparent: job.data.traceparent, tracestate: job.data.tracestate });
    return inSpan(
      SpanNames.job(CHARGE_QUEUE),
      {
        parent,
        attributes: {
          [Attr.actorType]: PAYMENT,
          [Attr.actorId]: job.data.paymentId,
          [Attr.correlationId]: job.data.correlationId,
          [Attr.messagingDeliveryAttempt]: job.attemptsMade + 1,
        },
      },
      (span) => charge(job, services, span),
    );
  },
};
