import { z } from 'zod';
import { readSettings } from '@tributary/runtime';

/**
 * The payments context's own settings. The runtime's Config knows nothing of them, so they
 * are read from the environment here, validated with the same rules: a bad value is one
 * line naming the variable.
 */
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);

const schema = z.object({
  /** How long one gateway call may take before it counts as an error (and is retried). */
  PAYMENT_GATEWAY_TIMEOUT_MS: int(1, 600_000).default(5_000),
  /** Simulator: latency added to every charge. */
  PAYMENT_GATEWAY_LATENCY_MS: int(0, 600_000).default(0),
  /** Simulator: share of charges declined at random (0..1), for load runs. */
  PAYMENT_DECLINE_RATE: z.coerce.number().min(0).max(1).default(0),
  /** Attempts of one charge job (gateway errors and timeouts are retried; declines are not). */
  PAYMENT_CHARGE_ATTEMPTS: int(1, 100).default(5),
  /** First retry delay; BullMQ doubles it for each further attempt. */
  PAYMENT_CHARGE_BACKOFF_MS: int(1, 3_600_000).default(500),
  /** Charge jobs one worker process runs at once. */
  PAYMENT_CHARGE_CONCURRENCY: int(1, 1_000).default(16),
});

export interface PaymentsConfig {
  gatewayTimeoutMs: number;
  gatewayLatencyMs: number;
  declineRate: number;
  chargeAttempts: number;
  chargeBackoffMs: number;
  chargeConcurrency: number;
}

export function loadPaymentsConfig(env: NodeJS.ProcessEnv = process.env): PaymentsConfig {
  const r = readSettings(schema, env);
  return {
    gatewayTimeoutMs: r.PAYMENT_GATEWAY_TIMEOUT_MS,
    gatewayLatencyMs: r.PAYMENT_GATEWAY_LATENCY_MS,
    declineRate: r.PAYMENT_DECLINE_RATE,
    chargeAttempts: r.PAYMENT_CHARGE_ATTEMPTS,
    chargeBackoffMs: r.PAYMENT_CHARGE_BACKOFF_MS,
    chargeConcurrency: r.PAYMENT_CHARGE_CONCURRENCY,
  };
}

/**
 * The settings now. Read on use rather than once at import, so a process (or a test) that
 * sets the environment before starting a runtime gets what it set; parsing six variables
 * costs microseconds next to a gateway call.
 */
export const paymentsConfig = (): PaymentsConfig => loadPaymentsConfig(process.env);
