import { expect } from 'chai';
import { loadConfig, ConfigError } from './config';

/** The ConfigError a bad environment raises (fails the test when none is raised). */
function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return err as ConfigError;
  }
  return expect.fail(`expected ${JSON.stringify(env)} to be refused`);
}

describe('config', () => {
  it('has working defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c).to.deep.include({
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/tributary',
      redisUrl: 'redis://127.0.0.1:6379',
      role: 'all',
      contexts: 'all',
      port: 3000,
      redisPrefix: 'tributary:',
      migrateOnStart: true,
      partitions: 2,
    });
    expect(c.http).to.deep.equal({ bodyLimitBytes: 64 * 1024, requestTimeoutMs: 10_000 });
    expect(c.telemetry).to.deep.equal({ serviceName: 'tributary', otlpEndpoint: undefined });
  });

  it('reads and coerces what is set, and treats empty strings as unset', () => {
    const c = loadConfig({ PORT: '8080', ROLE: 'worker', CONTEXTS: 'accounts, orders', MIGRATE_ON_START: 'no', RELAY_POLL_MS: '50', HOST: '' });
    expect(c.port).to.equal(8080);
    expect(c.role).to.equal('worker');
    expect(c.contexts).to.deep.equal(['accounts', 'orders']);
    expect(c.migrateOnStart).to.equal(false);
    expect(c.relay.pollMs).to.equal(50);
    expect(c.host).to.equal('0.0.0.0');
  });

  for (const [name, value] of [
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['ROLE', 'both'],
    ['REDIS_PREFIX', 'my prefix'],
    ['DATABASE_URL', 'not a url'],
    ['MIGRATE_ON_START', 'maybe'],
    ['PARTITIONS', '0'],
  ] as const) {
    it(`refuses ${name}=${JSON.stringify(value)} with one line naming the variable`, () => {
      const err = configError({ [name]: value });
      expect(err.message).to.not.contain('\n');
      expect(err.message.startsWith(`Invalid ${name}=`)).to.equal(true, err.message);
      expect(err.message).to.contain(JSON.stringify(value));
    });
  }

  it('refuses a CONTEXTS list that names nothing', () => {
    expect(configError({ CONTEXTS: ' , ' }).message).to.match(/^Invalid CONTEXTS/);
  });
});
