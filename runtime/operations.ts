/**
 * `@tributary/runtime/operations`: what operational tools outside the runtime (the invariant
 * check, `ops/check`) need to load a deployment's settings, contexts and database the way
 * `tributary start` does. Not for contexts: they import the public API (`.`) only.
 */
export { loadConfig, type Config } from './config';
export { loadContexts, type ContextPlugin } from './context';
export { createDb } from './store/database';
export { checkLogConsistency } from './store/log-consistency';
