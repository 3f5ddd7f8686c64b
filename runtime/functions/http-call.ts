import { FunctionError } from './errors';
import type { TraceCarrier } from '../telemetry/propagation';

/** The header that carries the invocation's idempotency key, the same on every retry. */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

/**
 * One attempt of an `http` function: POSTs the input as JSON with the idempotency key and the
 * trace context (traceparent), and returns the JSON answer of a 2xx. A 5xx or a connection
 * error is retryable; a 4xx is the function refusing the input, never retried.
 */
export async function postFunction(
  fn: string,
  url: string,
  input: unknown,
  options: { idempotencyKey: string; signal: AbortSignal; trace?: TraceCarrier },
): Promise<unknown> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json', [IDEMPOTENCY_KEY_HEADER]: options.idempotencyKey };
  if (options.trace?.traceparent) headers.traceparent = options.trace.traceparent;
  if (options.trace?.tracestate) headers.tracestate = options.trace.tracestate;
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(input), signal: options.signal });
  } catch (err) {
    // Refused, reset, DNS: nothing was answered, so another attempt may get through.
    throw new FunctionError(`function ${fn}: ${url} unreachable: ${(err as Error).message}`, true);
  }
  const text = await response.text();
  if (!response.ok) {
    const retryable = response.status >= 500 || response.status === 429 || response.status === 408;
    throw new FunctionError(`function ${fn}: ${url} answered ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`, retryable, response.status);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new FunctionError(`function ${fn}: ${url} answered ${response.status} with a body that is not JSON`, false, response.status);
  }
}
