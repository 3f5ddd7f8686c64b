/**
 * How an attempt of a function failed decides whether it is tried again: a timeout, a
 * connection error or a 5xx may succeed next time; a 4xx (the function refused the input)
 * will not, and neither will an answer that is not what the function promises.
 */
export class FunctionError extends Error {
  constructor(
    message: string,
    /** Worth another attempt. */
    readonly retryable: boolean,
    /** The HTTP status of the answer, if one came. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The attempt passed its deadline (FunctionSettings.timeoutMs) and was aborted. */
export class FunctionTimeoutError extends FunctionError {
  override readonly name = 'FunctionTimeoutError';
  constructor(fn: string, ms: number) {
    super(`function ${fn} did not answer within ${ms} ms`, true);
  }
}

/** Every attempt of one invocation failed; `cause` is the last attempt's error. */
export class FunctionUnavailableError extends Error {
  override readonly name = 'FunctionUnavailableError';
  constructor(fn: string, attempts: number, readonly last: unknown) {
    super(`function ${fn} failed ${attempts} time(s): ${(last as Error)?.message ?? String(last)}`);
  }
}

/** Whether `err` is worth another attempt: a FunctionError says so; anything else (a thrown handler) is. */
export const isRetryable = (err: unknown): boolean => (err instanceof FunctionError ? err.retryable : true);
