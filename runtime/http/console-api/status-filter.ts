import { z } from 'zod';
import type { AggregateDefinition } from '../../actors/aggregate';
import { NEW_STATE } from '../../actors/aggregate';
import { machineGraph } from './machine-model';

/**
 * The `status` query parameter of an aggregate's collection: optional, and one of its
 * machine's states (every state but `new`, which no stored aggregate is in). Anything else is
 * a 400 naming the states, so a typo never looks like an empty collection.
 */
export function statusFilterSchema(definition: AggregateDefinition) {
  const states = machineGraph(definition.machine).states.map((s) => s.name).filter((s) => s !== NEW_STATE);
  return z
    .enum(states as [string, ...string[]], { error: () => `status must be one of ${states.join(', ')}` })
    .optional()
    .describe(`Only ${definition.type}s in this status`);
}
