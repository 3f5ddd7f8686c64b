import type { Logger } from '../logger';
import { parseFunctions } from './settings';

/**
 * The `FUNCTIONS` entries that no loaded context binds (a misspelt name, or a function of a
 * context this process does not load). Not refused: one ConfigMap serves deployments that
 * load different contexts; but a typo would silently leave a function where its defaults
 * put it, so start-up says so.
 */
export function unboundFunctions(env: Readonly<Record<string, string | undefined>>, plugins: readonly { functions?: readonly string[] }[]): string[] {
  if (!env.FUNCTIONS) return [];
  const bound = new Set(plugins.flatMap((p) => p.functions ?? []));
  return Object.keys(parseFunctions(env.FUNCTIONS)).filter((name) => !bound.has(name));
}

/** Logs {@link unboundFunctions} as one warning line, if any. */
export function warnUnboundFunctions(env: Readonly<Record<string, string | undefined>>, plugins: readonly { functions?: readonly string[] }[], log: Logger): void {
  const unbound = unboundFunctions(env, plugins);
  if (unbound.length) log.warn({ functions: unbound }, 'FUNCTIONS configures functions that no loaded context binds: ignored');
}
