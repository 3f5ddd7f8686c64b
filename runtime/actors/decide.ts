import { CommandRejectedError, NotFoundError, ValidationError } from '../errors';
import { validate } from '../validation';
import { exists, type AggregateDefinition, type AggregateState, type DomainEvent } from './aggregate';
import { nextState, resolve } from './machine-state';

export interface Decision<C> {
  events: DomainEvent[];
  after: AggregateState<C>;
}

/**
 * The pure heart of a command: validate its input, let it decide its events, and let the
 * machine accept each of them in turn. No I/O, so it is what given/when/then tests run.
 * Throws ValidationError (400), NotFoundError (404) or CommandRejectedError (409).
 */
export function decideCommand<C>(def: AggregateDefinition<C>, before: AggregateState<C>, command: string, rawInput: unknown): Decision<C> {
  // An own property only: `constructor` or `__proto__` name no command, whatever the prototype holds.
  const spec = Object.hasOwn(def.commands, command) ? def.commands[command] : undefined;
  if (!spec) throw new NotFoundError(`${def.type} has no command ${command}`);
  if (!spec.creates && !exists(before)) throw new NotFoundError(`No ${def.type} with id ${before.id}`);
  if (spec.creates && exists(before)) throw new CommandRejectedError(spec.rejection(before), command, before.status);
  const input = parseInput(spec.input, command, rawInput);
  const events = spec.decide
    ? spec.decide(input, before)
    : [{ type: spec.event, data: spec.data ? spec.data(input, before) : (input as Record<string, unknown>) }];
  let snapshot = resolve(def.machine, before);
  for (const event of events) {
    if (!snapshot.can(event)) throw new CommandRejectedError(spec.rejection(before), command, before.status);
    snapshot = nextState(def.machine, snapshot, event);
  }
  const after: AggregateState<C> = { id: before.id, status: String(snapshot.value), context: snapshot.context as C, version: before.version + events.length };
  return { events, after };
}

function parseInput(schema: Parameters<typeof validate>[0] | undefined, command: string, input: unknown): unknown {
  if (schema) return validate(schema, input ?? {});
  const empty = input === undefined || input === null || (typeof input === 'object' && Object.keys(input).length === 0);
  if (!empty) throw new ValidationError(`Command ${command} takes no input`);
  return {};
}
