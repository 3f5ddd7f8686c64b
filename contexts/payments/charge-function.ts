import { z } from 'zod';
import { bindFunction, defineFunction, type FunctionDefinition } from '@tributary/runtime';
import { PaymentStatus as S } from './contract';
import type { PaymentsConfig } from './config';
import type { ChargeRequest, ChargeResult, PaymentGateway } from './gateway';
import { fromCents } from './money';
import type { PaymentContext } from './payment.machine';

/** The first function bound to a transition: charging a payment that became pending. */
export const CHARGE_PAYMENT = 'chargePayment';

const chargeRequest = z.object({
  paymentId: z.string().uuid('paymentId must be a UUID'),
  amount: z.number().min(0, 'amount must be 0 or more'),
});

const chargeResult = z.discriminatedUnion('approved', [
  z.object({ approved: z.literal(true), chargeId: z.string().min(1) }),
  z.object({ approved: z.literal(false), reason: z.string().min(1) }),
]);

/**
 * `chargePayment`: charges one payment at the gateway and answers its decision. Idempotent by
 * payment id (the invocation's idempotency key is the payment id, and the gateway records its
 * first decision for a payment id and answers it to every repeat). Its defaults are today's
 * behaviour: in the charge job (mode `job`), with the gateway timeout, attempts and backoff of
 * the payments settings; `FUNCTIONS` can move it in-process or behind an HTTP endpoint.
 */
export function chargePayment(gateway: PaymentGateway, cfg: PaymentsConfig): FunctionDefinition<ChargeRequest, ChargeResult> {
  return defineFunction<ChargeRequest, ChargeResult>({
    name: CHARGE_PAYMENT,
    input: chargeRequest,
    output: chargeResult,
    handler: (request, call) => gateway.charge(request, call.signal),
    defaults: { mode: 'job', timeoutMs: cfg.gatewayTimeoutMs, attempts: cfg.chargeAttempts, backoffMs: cfg.chargeBackoffMs },
  });
}

/**
 * The binding: a payment that enters PAYMENT_PENDING owes a charge of its amount. The charge
 * job carries the invocation (queued after the commit, re-queued by the saga's re-send and by
 * the settle deadline: see README), and invokes only while the payment is still pending.
 */
export const chargeOnPending = bindFunction<PaymentContext, ChargeRequest>({
  function: CHARGE_PAYMENT,
  on: S.PAYMENT_PENDING,
  input: (state) => ({ paymentId: state.id, amount: fromCents(state.context.amountCents ?? 0) }),
  idempotencyKey: (state) => state.id,
});
