import { cleanupAll } from './services';

/** Root hooks: whatever tests created (databases, Redis keys, containers) is removed at the end. */
export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await cleanupAll();
  },
};
