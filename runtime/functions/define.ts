import type { z } from 'zod';
import type { FunctionSettings } from './settings';

/** What one attempt of a function knows besides its input. */
export interface FunctionCall {
  /**
   * The same on every attempt of one invocation (and of a re-invocation for the same cause),
   * so a function that sees it again answers as it did, with one effect.
   */
  idempotencyKey: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** Aborted at the attempt's deadline: stop working, the answer will not be used. */
  signal: AbortSignal;
}

/**
 * A function a machine's transition is bound to: a named, deployable unit with a typed input
 * and a validated output. The same definition runs in-process (`inline`, `job`) and behind a
 * function server (`serveFunctions`) for `http`; configuration (`FUNCTIONS`) picks which.
 */
export interface FunctionDefinition<I, O> {
  /** `FUNCTIONS` key and span name: letters, digits, `_`. */
  name: string;
  /** Validates the input where it arrives over HTTP (the function server). */
  input: z.ZodType<I>;
  /** Validates the answer, above all one that came over HTTP. */
  output: z.ZodType<O>;
  /** The body. It must be idempotent by `call.idempotencyKey`. */
  handler(input: I, call: FunctionCall): Promise<O>;
  /** Where and how it runs unless `FUNCTIONS` says otherwise. */
  defaults: FunctionSettings;
}

/** Declares a function (an identity: it types the definition). */
export function defineFunction<I, O>(definition: FunctionDefinition<I, O>): FunctionDefinition<I, O> {
  return definition;
}
