import { createActor, type AnyActorScope, type AnyStateMachine, type AnyMachineSnapshot } from 'xstate';
import { NEW_STATE, type AggregateState } from './aggregate';

/** The snapshot before any event, per machine: every creation starts from it (snapshots are immutable). */
const initialSnapshots = new WeakMap<AnyStateMachine, AnyMachineSnapshot>();

function initialSnapshot(machine: AnyStateMachine): AnyMachineSnapshot {
  let snapshot = initialSnapshots.get(machine);
  if (!snapshot) {
    snapshot = machine.resolveState({ value: NEW_STATE, context: (machine.config.context ?? {}) as Record<string, unknown> });
    initialSnapshots.set(machine, snapshot);
  }
  return snapshot;
}

/** A persisted aggregate state as the machine sees it. */
export function resolve(machine: AnyStateMachine, state: AggregateState<unknown>): AnyMachineSnapshot {
  if (state.version === 0) return initialSnapshot(machine);
  return machine.resolveState({ value: state.status, context: state.context as Record<string, unknown> });
}

export function initialState<C>(machine: AnyStateMachine, id: string): AggregateState<C> {
  return { id, status: NEW_STATE, context: initialSnapshot(machine).context as C, version: 0 };
}

/** Thrown when the stored log holds an event the machine does not accept: the log or the machine is wrong. */
export class CorruptStreamError extends Error {
  override readonly name = 'CorruptStreamError';
}

/** Folds events into a state through the machine (pure: no actions run). */
export function fold<C>(machine: AnyStateMachine, state: AggregateState<C>, events: readonly { type: string; data: unknown; version: number }[]): AggregateState<C> {
  if (events.length === 0) return state;
  let snapshot = resolve(machine, state);
  let version = state.version;
  for (const e of events) {
    const event = { type: e.type, data: e.data };
    if (!snapshot.can(event)) {
      throw new CorruptStreamError(`${state.id}: event ${e.type} (v${e.version}) is not accepted in state ${String(snapshot.value)}`);
    }
    snapshot = nextState(machine, snapshot, event);
    version = e.version;
  }
  return { id: state.id, status: String(snapshot.value), context: snapshot.context as C, version };
}

/** One inert actor scope per machine, made once (see {@link nextState}). */
const scopes = new WeakMap<AnyStateMachine, AnyActorScope>();

function inertScope(machine: AnyStateMachine): AnyActorScope {
  let scope = scopes.get(machine);
  if (!scope) {
    const self = createActor(machine);
    const noop = () => undefined;
    scope = { self, system: self.system, id: '', sessionId: '', defer: noop, logger: noop, stopChild: noop, emit: noop, actionExecutor: noop } as unknown as AnyActorScope;
    scopes.set(machine, scope);
  }
  return scope;
}

/**
 * The machine's next snapshot for an event: what xstate's `getNextSnapshot` computes, with
 * the inert actor scope made once per machine instead of on every call (`getNextSnapshot`
 * builds a new actor and system, and computes the machine's initial snapshot, each time:
 * about half of the cost of a transition). Aggregates run no actions but `assign`, and
 * the scope's hooks do nothing, so one scope serves every call; transitions are synchronous.
 */
export function nextState(machine: AnyStateMachine, snapshot: AnyMachineSnapshot, event: { type: string; data: unknown }): AnyMachineSnapshot {
  const scope = inertScope(machine);
  (scope.self as unknown as { _snapshot: AnyMachineSnapshot })._snapshot = snapshot;
  return machine.transition(snapshot, event, scope) as AnyMachineSnapshot;
}
