import { expect } from 'chai';
import type { AggregateDefinition, AggregateState } from '../index';
import { decideCommand } from '../actors/decide';
import { fold, initialState } from '../actors/machine-state';
import { TributaryError } from '../errors';

/** An event as a test writes it: its type and data (versions are numbered for it). */
export interface GivenEvent {
  type: string;
  data?: Record<string, unknown>;
}

/** Folds a log written by a test into a state, numbering versions from 1 as the store does. */
export function replay<C>(definition: AggregateDefinition<C>, id: string, events: GivenEvent[]): AggregateState<C> {
  const stored = events.map((e, i) => ({ type: e.type, data: e.data ?? {}, version: i + 1 }));
  return fold(definition.machine, initialState<C>(definition.machine, id), stored);
}

/**
 * Emmett-style decider specification over the runtime's own pure decision function:
 * `given(events).when(command, input).then(events)` or `.thenRejects(message)`.
 */
export function specFor<C>(definition: AggregateDefinition<C>, id = '00000000-0000-4000-8000-000000000001') {
  return {
    given(events: GivenEvent[] = []) {
      const before = () => replay(definition, id, events);
      return {
        when(command: string, input?: unknown) {
          return {
            then(expected: GivenEvent[]): AggregateState<C> {
              const { events: produced, after } = decideCommand(definition, before(), command, input);
              expect(produced.map((e) => ({ type: e.type, data: e.data ?? {} }))).to.deep.equal(expected.map((e) => ({ type: e.type, data: e.data ?? {} })));
              return after;
            },
            thenRejects(messageOrStatus: string | number): void {
              try {
                const { events: produced } = decideCommand(definition, before(), command, input);
                expect.fail(`expected a rejection but ${command} produced ${produced.map((e) => e.type).join(', ')}`);
              } catch (err) {
                if (!(err instanceof TributaryError)) throw err;
                if (typeof messageOrStatus === 'number') expect(err.status).to.equal(messageOrStatus);
                else expect(err.message).to.equal(messageOrStatus);
              }
            },
          };
        },
      };
    },
  };
}
