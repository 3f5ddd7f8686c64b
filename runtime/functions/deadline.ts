import { FunctionTimeoutError } from './errors';

/**
 * Runs one attempt with a deadline: past `ms` its signal is aborted and a
 * {@link FunctionTimeoutError} thrown, whether or not the attempt heeds the signal.
 */
export async function withDeadline<T>(fn: string, ms: number, attempt: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Reject first, so the race settles with the timeout rather than the aborted call's own error.
      reject(new FunctionTimeoutError(fn, ms));
      controller.abort();
    }, ms);
  });
  try {
    return await Promise.race([attempt(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits `ms` (the backoff between attempts). */
export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
