import type { ActorSystem } from '../../actors/actor-system';
import type { ZodType } from 'zod';

/**
 * Where each aggregate's routes were mounted (`mountAggregateRoutes` records its `basePath`)
 * and the input schemas of commands other contexts offer on it. Kept per actor system, so
 * that several runtimes in one process (tests) do not see each other's.
 */
interface Registry {
  basePaths: Map<string, string>;
  offeredInputs: Map<string, ZodType>;
}

const registries = new WeakMap<ActorSystem, Registry>();

function registry(actors: ActorSystem): Registry {
  let r = registries.get(actors);
  if (!r) registries.set(actors, (r = { basePaths: new Map(), offeredInputs: new Map() }));
  return r;
}

/** Records the collection path an aggregate type's routes were mounted at (`/v1/accounts`). */
export function recordBasePath(actors: ActorSystem, type: string, basePath: string): void {
  registry(actors).basePaths.set(type, basePath);
}

/** The collection path of an aggregate type, if its routes are mounted in this process. */
export function basePathOf(actors: ActorSystem, type: string): string | undefined {
  return registry(actors).basePaths.get(type);
}

/** Records the input schema of a command another context offers on `type` (orders: postOrder). */
export function recordOfferedInput(actors: ActorSystem, type: string, command: string, input: ZodType): void {
  registry(actors).offeredInputs.set(`${type}/${command}`, input);
}

export function offeredInputOf(actors: ActorSystem, type: string, command: string): ZodType | undefined {
  return registry(actors).offeredInputs.get(`${type}/${command}`);
}

/** The href of an aggregate's item (`/v1/accounts/{id}`), or undefined when it has no routes here. */
export function itemHref(actors: ActorSystem, type: string, id: string): string | undefined {
  const base = basePathOf(actors, type);
  return base ? `${base}/${id}` : undefined;
}
