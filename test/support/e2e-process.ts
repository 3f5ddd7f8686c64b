/**
 * The test kit's process helpers (`@tributary/runtime/testing`), with this repository's
 * defaults: these tests are about the runtime and the accounts context, so only that context
 * is loaded unless a test's settings name others (another context's reactions cannot change
 * what they observe).
 */
import path from 'node:path';
import { FAST_SETTINGS as KIT_FAST_SETTINGS, startServer as kitStartServer, type ServerProcess, type StartOptions } from '../../runtime/testing/process';
import type { TestEnv } from '../../runtime/testing/runtime';

export * from '../../runtime/testing/process';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** The kit's fast settings, with `CONTEXTS=accounts`. */
export const FAST_SETTINGS: Record<string, string> = { CONTEXTS: 'accounts', ...KIT_FAST_SETTINGS };

/** {@link kitStartServer} with this repository's {@link FAST_SETTINGS}. */
export function startServer(deployment: TestEnv | Record<string, string>, extra: Record<string, string> = {}, options: StartOptions = {}): Promise<ServerProcess> {
  return kitStartServer(deployment, extra, { fastSettings: FAST_SETTINGS, ...options });
}
