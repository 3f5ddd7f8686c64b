import { z } from 'zod';
import { readSettings } from '@tributary/runtime';

const schema = z.object({
  ORDER_STEP_TIMEOUT_MS: z.coerce.number().int().min(50).default(15_000),
  ORDER_STEP_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(3),
  ORDER_COMPENSATION_MAX_DELAY_MS: z.coerce.number().int().min(100).default(60_000),
});

/** The order saga's deadlines. */
export interface SagaSettings {
  /** How long a step may go unanswered before its command is re-sent. */
  stepTimeoutMs: number;
  /** Sends of a forward step before the saga gives up and compensates. */
  maxAttempts: number;
  /** Cap on the backoff between re-sends of a compensation (which never gives up). */
  compensationMaxDelayMs: number;
}

export function sagaSettings(env: Readonly<Record<string, string | undefined>> = process.env): SagaSettings {
  const r = readSettings(schema, env);
  return { stepTimeoutMs: r.ORDER_STEP_TIMEOUT_MS, maxAttempts: r.ORDER_STEP_MAX_ATTEMPTS, compensationMaxDelayMs: r.ORDER_COMPENSATION_MAX_DELAY_MS };
}
