import { expect } from 'chai';
import type { AggregateDefinition, AggregateState } from '../../../runtime';
import { exists } from '../../../runtime/actors/aggregate';
import { fold, initialState, resolve } from '../../../runtime/actors/machine-state';
import { validate } from '../../../runtime/validation';

/** An event as a test writes it: its type and data (versions are numbered for it). */
export interface GivenEvent {
  type: string;
  data?: Record<string, unknown>;
}

export type Decision<C> =
  | { kind: 'events'; events: GivenEvent[]; state: AggregateState<C> }
  | { kind: 'rejected'; message: string; state: AggregateState<C> };

/** Folds a log written by a test into a state, numbering versions from 1 as the store does. */
export function replay<C>(definition: AggregateDefinition<C>, id: string, events: GivenEvent[]): AggregateState<C> {
  const stored = events.map((e, i) => ({ type: e.type, data: e.data ?? {}, version: i + 1 }));
  return fold(definition.machine, initialState<C>(definition.machine, id), stored);
}

/**
 * Decides one command the way ActorSystem.executeIn does, without a database: validate the
 * input, ask the machine `snapshot.can(event)`, and either produce the event or the
 * command's rejection message for the current state.
 */
export function decide<C>(definition: AggregateDefinition<C>, before: AggregateState<C>, command: string, input?: unknown): Decision<C> {
  const spec = definition.commands[command];
  if (!spec) throw new Error(`${definition.type} has no command ${command}`);
  if (!spec.creates && !exists(before)) throw new Error(`No ${definition.type} with id ${before.id}`);
  const parsed = spec.input ? validate(spec.input, input ?? {}) : {};
  const event = { type: spec.event, data: spec.data ? spec.data(parsed, before) : (parsed as Record<string, unknown>) };
  if (!resolve(definition.machine, before).can(event)) {
    return { kind: 'rejected', message: spec.rejection(before), state: before };
  }
  const after = fold(definition.machine, before, [{ ...event, version: before.version + 1 }]);
  return { kind: 'events', events: [event], state: after };
}

/**
 * Emmett-style specification: `given(events).when(command, input).then(events)` or
 * `.thenRejects(message)`. `then` returns the state after the command for further checks.
 */
export function specFor<C>(definition: AggregateDefinition<C>, id = 'a1') {
  return {
    given(events: GivenEvent[] = []) {
      return {
        when(command: string, input?: unknown) {
          const run = () => decide(definition, replay(definition, id, events), command, input);
          return {
            then(expected: GivenEvent[]): AggregateState<C> {
              const d = run();
              if (d.kind === 'rejected') expect.fail(`expected events ${expected.map((e) => e.type).join(', ')} but ${command} was rejected: ${d.message}`);
              expect(d.events.map((e) => ({ type: e.type, data: e.data }))).to.deep.equal(expected.map((e) => ({ type: e.type, data: e.data ?? {} })));
              return d.state;
            },
            thenRejects(message: string): void {
              const d = run();
              if (d.kind === 'events') expect.fail(`expected rejection "${message}" but ${command} produced ${d.events.map((e) => e.type).join(', ')}`);
              expect(d.message).to.equal(message);
            },
          };
        },
      };
    },
  };
}
