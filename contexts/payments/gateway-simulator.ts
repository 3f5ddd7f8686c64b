import { randomUUID } from 'node:crypto';
import type { Queryable } from '@tributary/runtime';
import type { ChargeRequest, ChargeResult, PaymentGateway } from './gateway';
import { toCents } from './money';

/** What the simulator does with one charge request (the pure part of its rules). */
export type SimulatedOutcome = { kind: 'approve' } | { kind: 'decline'; reason: string } | { kind: 'no-answer' };

export const CARD_DECLINED = 'card declined';
export const RANDOM_DECLINE = 'card declined (simulated random decline)';

/**
 * The simulator's documented, deterministic rules, decided on the amount's cents:
 *
 * - cents `.01` (e.g. 10.01) → declined, reason "card declined";
 * - cents `.02` (e.g. 10.02) → never answers: the call waits until the caller's gateway
 *   timeout (PAYMENT_GATEWAY_TIMEOUT_MS) aborts it, and nothing is recorded;
 * - otherwise declined at random with probability PAYMENT_DECLINE_RATE (0 by default, for
 *   load runs), else approved.
 */
export function simulatedOutcome(amount: number, declineRate: number, random: () => number = Math.random): SimulatedOutcome {
  const cents = ((toCents(amount) % 100) + 100) % 100;
  if (cents === 1) return { kind: 'decline', reason: CARD_DECLINED };
  if (cents === 2) return { kind: 'no-answer' };
  if (declineRate > 0 && random() < declineRate) return { kind: 'decline', reason: RANDOM_DECLINE };
  return { kind: 'approve' };
}

export interface SimulatorOptions {
  /** Added to every charge (PAYMENT_GATEWAY_LATENCY_MS). */
  latencyMs: number;
  /** PAYMENT_DECLINE_RATE, 0..1. */
  declineRate: number;
  random?: () => number;
}

class AbortedError extends Error {
  override readonly name = 'AbortError';
}

/** Waits `ms`, or until the signal aborts (then throws). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(new AbortedError('aborted'));
  return new Promise((resolve, reject) => {
    const timer = ms === Infinity ? undefined : setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', aborted);
      resolve();
    }
    function aborted() {
      clearTimeout(timer);
      reject(new AbortedError('aborted'));
    }
    signal?.addEventListener('abort', aborted, { once: true });
  });
}

interface ChargeRow {
  charge_id: string;
  status: 'approved' | 'declined' | 'refunded';
  reason: string | null;
}

export const CHARGE_REFUNDED = 'the charge was refunded';

const resultOf = (r: ChargeRow): ChargeResult => {
  if (r.status === 'approved') return { approved: true, chargeId: r.charge_id };
  return { approved: false, reason: r.status === 'refunded' ? CHARGE_REFUNDED : (r.reason ?? CARD_DECLINED) };
};

/**
 * The bundled payment gateway: a simulator that keeps its own ledger
 * (`payment_gateway_charges`, standing for the provider's books) and follows
 * {@link simulatedOutcome}. It is idempotent by payment id: the first decision is recorded,
 * and every later charge of that payment id returns it, never charging twice. A call that
 * is aborted (the caller's timeout) before its decision is recorded leaves nothing behind.
 */
export class GatewaySimulator implements PaymentGateway {
  constructor(
    private readonly db: Queryable,
    private readonly options: SimulatorOptions,
  ) {}

  async charge(request: ChargeRequest, signal?: AbortSignal): Promise<ChargeResult> {
    const outcome = simulatedOutcome(request.amount, this.options.declineRate, this.options.random);
    if (outcome.kind === 'no-answer') {
      const recorded = await this.find(request.paymentId);
      if (recorded) return resultOf(recorded);
      await sleep(Infinity, signal); // only the caller's abort ends it
    }
    if (this.options.latencyMs > 0) await sleep(this.options.latencyMs, signal);
    if (signal?.aborted) throw new AbortedError('aborted');
    const declined = outcome.kind === 'decline';
    // The payment id is the idempotency key: the first decision recorded is the answer to
    // every call (a repeat, or the loser of two racing first calls, gets the recorded row).
    const { rows } = await this.db.raw<{ rows: ChargeRow[] }>(
      `INSERT INTO payment_gateway_charges (payment_id, charge_id, amount, status, reason)
       VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (payment_id) DO NOTHING
       RETURNING charge_id, status, reason`,
      [request.paymentId, randomUUID(), request.amount, declined ? 'declined' : 'approved', declined ? outcome.reason : null],
    );
    return resultOf(rows[0] ?? (await this.find(request.paymentId))!);
  }

  async lookup(paymentId: string): Promise<ChargeResult | undefined> {
    const recorded = await this.find(paymentId);
    return recorded && resultOf(recorded);
  }

  async refund(chargeId: string): Promise<void> {
    const { rows } = await this.db.raw<{ rows: { status: string }[] }>(
      `UPDATE payment_gateway_charges SET status = 'refunded', refunded_at = COALESCE(refunded_at, now())
        WHERE charge_id = ? AND status IN ('approved', 'refunded')
        RETURNING status`,
      [chargeId],
    );
    if (rows.length === 0) throw new Error(`payment gateway: no approved charge ${chargeId} to refund`);
  }

  private async find(paymentId: string): Promise<ChargeRow | undefined> {
    const { rows } = await this.db.raw<{ rows: ChargeRow[] }>(
      'SELECT charge_id, status, reason FROM payment_gateway_charges WHERE payment_id = ?',
      [paymentId],
    );
    return rows[0];
  }
}
