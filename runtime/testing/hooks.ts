import { cleanupAll } from './services';
import { killStartedProcesses } from './process';

/**
 * mocha root hooks (`require` this module from `.mocharc.json`): the processes the run
 * started are killed, and whatever it created (databases, Redis keys, containers) is removed
 * at the end.
 */
export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await killStartedProcesses();
    await cleanupAll();
  },
};
