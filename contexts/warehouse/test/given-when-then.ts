import { expect } from 'chai';
import { transition } from 'xstate';
import type { AggregateDefinition, AggregateState, DomainEvent } from '../../../runtime';
import { exists } from '../../../runtime/actors/aggregate';
import { fold, initialState, resolve } from '../../../runtime/actors/machine-state';
import { validate } from '../../../runtime/validation';

/** An event as a test writes it: its type and data (versions are numbered for it). */
export interface GivenEvent {
  type: string;
  data?: Record<string, unknown>;
}

type Decision<C> = { kind: 'events'; events: DomainEvent[]; state: AggregateState<C> } | { kind: 'rejected'; message: string };

/** Folds a log written by a test into a state, numbering versions from 1 as the store does. */
export function replay<C>(definition: AggregateDefinition<C>, id: string, events: GivenEvent[]): AggregateState<C> {
  return fold(definition.machine, initialState<C>(definition.machine, id), events.map((e, i) => ({ type: e.type, data: e.data ?? {}, version: i + 1 })));
}

/**
 * Decides one command exactly as ActorSystem.executeIn does, without a database: validate
 * the input, produce the events (`decide` or the single event), and ask the machine for
 * each in turn; the first it refuses rejects the command with its rejection message.
 */
export function decideCommand<C>(definition: AggregateDefinition<C>, before: AggregateState<C>, command: string, input?: unknown): Decision<C> {
  const spec = definition.commands[command];
  if (!spec) throw new Error(`${definition.type} has no command ${command}`);
  if (!spec.creates && !exists(before)) throw new Error(`No ${definition.type} with id ${before.id}`);
  if (spec.creates && exists(before)) return { kind: 'rejected', message: spec.rejection(before) };
  const parsed = spec.input ? validate(spec.input, input ?? {}) : {};
  const events = spec.decide
    ? spec.decide(parsed, before)
    : [{ type: spec.event, data: spec.data ? spec.data(parsed, before) : (parsed as Record<string, unknown>) }];
  let snapshot = resolve(definition.machine, before);
  for (const e of events) {
    if (!snapshot.can(e)) return { kind: 'rejected', message: spec.rejection(before) };
    [snapshot] = transition(definition.machine, snapshot, e);
  }
  return { kind: 'events', events, state: fold(definition.machine, before, events.map((e, i) => ({ ...e, version: before.version + i + 1 }))) };
}

/** `given(events).when(command, input).then(events)` or `.thenRejects(message)`. */
export function specFor<C>(definition: AggregateDefinition<C>, id = '00000000-0000-4000-8000-000000000001') {
  return {
    given(events: GivenEvent[] = []) {
      return {
        when(command: string, input?: unknown) {
          const run = () => decideCommand(definition, replay(definition, id, events), command, input);
          return {
            then(expected: GivenEvent[]): AggregateState<C> {
              const d = run();
              if (d.kind === 'rejected') return expect.fail(`expected ${expected.map((e) => e.type).join(', ')} but ${command} was rejected: ${d.message}`);
              expect(d.events.map((e) => ({ type: e.type, data: e.data }))).to.deep.equal(expected.map((e) => ({ type: e.type, data: e.data ?? {} })));
              return d.state;
            },
            thenRejects(message: string): void {
              const d = run();
              if (d.kind === 'events') expect.fail(`expected rejection "${message}" but ${command} produced ${d.events.map((e) => e.type).join(', ')}`);
              else expect(d.message).to.equal(message);
            },
          };
        },
      };
    },
  };
}
