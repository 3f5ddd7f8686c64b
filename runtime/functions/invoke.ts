import { SpanKind, type Attributes, type Context } from '@opentelemetry/api';
import { Attr, SpanNames } from '../telemetry/names';
import { currentTraceCarrier, inSpan } from '../telemetry/propagation';
import type { FunctionDefinition } from './define';
import { pause, withDeadline } from './deadline';
import { FunctionError, FunctionUnavailableError, isRetryable } from './errors';
import { postFunction } from './http-call';
import { functionSettings, type FunctionSettings } from './settings';

export interface Invocation {
  /** The same for every attempt and every re-invocation of one cause (e.g. the payment id). */
  idempotencyKey: string;
  /** The trace the invocation belongs to (e.g. the order's, from a stored traceparent); default: the active one. */
  parent?: Context;
  /** Added to every attempt's span (e.g. the order id). */
  attributes?: Attributes;
  /** Default: the function's defaults overridden by `FUNCTIONS`. */
  settings?: FunctionSettings;
  /**
   * In `job` mode, the attempt of the job that carries the invocation (1 for the first): the
   * job's retries are the function's, so the dispatcher runs one attempt and numbers it so.
   */
  jobAttempt?: number;
}

/**
 * Invokes a function where its settings say, and returns its validated answer.
 *
 * Every attempt has its own span (`function <name>`, child of `parent`) with the function's
 * name, mode and attempt number, and a deadline (`timeoutMs`, through an AbortSignal). Every
 * attempt carries the same idempotency key. In `inline` and `http` mode an attempt that failed
 * in a way worth repeating (timeout, connection error, 5xx, a thrown handler) is repeated up
 * to `attempts` times, `backoffMs` doubled between them, and then a
 * {@link FunctionUnavailableError} is thrown; a 4xx or an answer that breaks the function's
 * output schema is thrown at once (a {@link FunctionError} with `retryable` false). In `job`
 * mode one attempt runs: its error is thrown for the job to retry.
 */
export async function invokeFunction<I, O>(fn: FunctionDefinition<I, O>, input: I, invocation: Invocation): Promise<O> {
  const settings = invocation.settings ?? functionSettings(fn.name, fn.defaults);
  const attempts = settings.mode === 'job' ? 1 : settings.attempts;
  for (let n = 1; ; n++) {
    const attempt = settings.mode === 'job' ? (invocation.jobAttempt ?? 1) : n;
    try {
      return await attemptOnce(fn, input, invocation, settings, attempt);
    } catch (err) {
      if (settings.mode === 'job' || !isRetryable(err)) throw err;
      if (n >= attempts) throw new FunctionUnavailableError(fn.name, n, err);
      await pause(settings.backoffMs * 2 ** (n - 1));
    }
  }
}

function attemptOnce<I, O>(fn: FunctionDefinition<I, O>, input: I, invocation: Invocation, settings: FunctionSettings, attempt: number): Promise<O> {
  return inSpan(
    SpanNames.function(fn.name),
    {
      parent: invocation.parent,
      kind: settings.mode === 'http' ? SpanKind.CLIENT : SpanKind.INTERNAL,
      attributes: {
        ...invocation.attributes,
        [Attr.functionName]: fn.name,
        [Attr.functionMode]: settings.mode,
        [Attr.functionAttempt]: attempt,
        [Attr.functionIdempotencyKey]: invocation.idempotencyKey,
      },
    },
    async () => {
      const answer = await withDeadline(fn.name, settings.timeoutMs, (signal) =>
        settings.mode === 'http'
          ? postFunction(fn.name, settings.url!, input, { idempotencyKey: invocation.idempotencyKey, signal, trace: currentTraceCarrier() })
          : fn.handler(input, { idempotencyKey: invocation.idempotencyKey, attempt, signal }),
      );
      const parsed = fn.output.safeParse(answer);
      if (!parsed.success) {
        throw new FunctionError(`function ${fn.name} answered something else than its output: ${parsed.error.issues[0].message}`, false);
      }
      return parsed.data;
    },
  );
}
