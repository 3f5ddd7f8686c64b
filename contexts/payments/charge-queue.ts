import { currentTraceCarrier, type RuntimeServices, type TraceCarrier } from '@tributary/runtime';
import { paymentsConfig } from './config';

/** The BullMQ queue of charges; one job per payment, whose job id is the payment id. */
export const CHARGE_QUEUE = 'payments.charge';

export interface ChargeJobData {
  paymentId: string;
  /** The order's business transaction, carried onto the events and replies the job writes. */
  correlationId: string;
  /** The message that queued the charge (CREATE_PAYMENT). */
  causationId: string;
  /** W3C trace context of the reaction that queued it, so the charge joins the order's trace. */
  traceparent?: string;
  tracestate?: string;
  /** Set by an attempt that must give an approved charge back, so a retry finishes the refund. */
  refundChargeId?: string;
}

/**
 * Makes sure the payment's charge job exists and will run. The job id is the payment id, so
 * adding it again while it waits, is delayed or runs is a no-op in BullMQ, and a re-sent
 * CREATE_PAYMENT never queues a second charge. A job that already finished (completed or
 * failed) while the payment is still pending is stale (e.g. it ran before the payment's
 * transaction committed, or it was lost to a crash): it is replaced.
 */
export async function ensureChargeQueued(
  services: RuntimeServices,
  data: Omit<ChargeJobData, 'traceparent' | 'tracestate'>,
  trace: TraceCarrier = currentTraceCarrier(),
): Promise<void> {
  const queue = services.jobs.queue(CHARGE_QUEUE);
  const existing = await queue.getJob(data.paymentId);
  if (existing) {
    const state = await existing.getState();
    if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return;
    await existing.remove();
  }
  const cfg = paymentsConfig();
  await services.jobs.add(CHARGE_QUEUE, 'charge', { ...data, ...trace } satisfies ChargeJobData, {
    jobId: data.paymentId,
    attempts: cfg.chargeAttempts,
    backoff: { type: 'exponential', delay: cfg.chargeBackoffMs },
  });
}
