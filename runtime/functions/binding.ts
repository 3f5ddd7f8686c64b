import type { AggregateState } from '../actors/aggregate';

/**
 * A function bound to a machine's transition: when an aggregate enters the state `on`, the
 * function is owed, with `input(state)` as its input and `idempotencyKey(state)` as its key
 * (the same however often the invocation is re-tried or re-swept). The context that declares
 * the binding carries the invocation durably (docs/functions.md); `isDue` is the check every
 * carrier makes before it invokes, so that a late or repeated carrier does nothing.
 */
export interface FunctionBinding<C, I> {
  /** The function's name (its definition's `name`, its `FUNCTIONS` key). */
  function: string;
  /** The state whose entry makes the function owed (the target of the transition). */
  on: string;
  input(state: AggregateState<C>): I;
  idempotencyKey(state: AggregateState<C>): string;
}

/** Declares a binding (an identity: it types it). */
export function bindFunction<C, I>(binding: FunctionBinding<C, I>): FunctionBinding<C, I> {
  return binding;
}

/** Whether the binding's function is owed in this state: the aggregate rests in the state it names. */
export const isDue = <C>(binding: FunctionBinding<C, unknown>, state: AggregateState<C>): boolean => state.status === binding.on;
