import { expect } from 'chai';
import { parseRedisUrl } from './redis-url';
import { loadConfig, ConfigError } from '../config';

describe('REDIS_URL', () => {
  it('is one Redis for redis:// and rediss://, as given', () => {
    for (const url of ['redis://127.0.0.1:6379', 'rediss://:secret@cache.internal:6380/2']) expect(parseRedisUrl(url)).to.deep.equal({ kind: 'single', url });
  });

  it('is a cluster for redis+cluster://, its nodes as seeds', () => {
    expect(parseRedisUrl('redis+cluster://127.0.0.1:7001,127.0.0.1:7002,[::1]:7003/')).to.deep.equal({
      kind: 'cluster',
      nodes: [{ host: '127.0.0.1', port: 7001 }, { host: '127.0.0.1', port: 7002 }, { host: '::1', port: 7003 }],
      username: undefined,
      password: undefined,
      tls: false,
    });
  });

  it('takes an ACL user and a password (URL-encoded) before the first node, and TLS from rediss+cluster://', () => {
    expect(parseRedisUrl('rediss+cluster://app:p%40ss%3Aword@node-a.example:6379,node-b.example:6379')).to.deep.equal({
      kind: 'cluster',
      nodes: [{ host: 'node-a.example', port: 6379 }, { host: 'node-b.example', port: 6379 }],
      username: 'app',
      password: 'p@ss:word',
      tls: true,
    });
    expect(parseRedisUrl('redis+cluster://:only-a-password@h:1')).to.include({ username: undefined, password: 'only-a-password' });
  });

  it('refuses what is not one Redis or a list of host:port, saying what is wrong', () => {
    const refusals: [string, RegExp][] = [
      ['http://127.0.0.1:6379', /must start with redis:\/\/, rediss:\/\/, redis\+cluster:\/\//],
      ['127.0.0.1:6379', /must start with/],
      ['redis+cluster://h1:7001,h2', /cluster node "h2" is not host:port/],
      ['redis+cluster://h1:0', /cluster node "h1:0" is not host:port/],
      ['redis+cluster://h1:70000', /is not host:port/],
      ['redis+cluster://h1:7001/0', /a cluster URL names nodes only/],
      ['redis+cluster://h1:7001?tls=true', /a cluster URL names nodes only/],
      ['redis+cluster://', /cluster node "" is not host:port/],
      ['redis://exa mple:6379', /Invalid URL/],
    ];
    for (const [url, message] of refusals) expect(() => parseRedisUrl(url), url).to.throw(message);
  });

  it('stops start-up with one line naming the variable when the cluster form is wrong', () => {
    let err: unknown;
    try {
      loadConfig({ REDIS_URL: 'redis+cluster://h1:7001,h2' });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ConfigError);
    expect((err as Error).message).to.match(/REDIS_URL/).and.match(/cluster node "h2" is not host:port/);
    // The line goes to logs: the password does not.
    expect(() => loadConfig({ REDIS_URL: 'redis+cluster://app:s3cret@h1:7001,h2' })).to.throw('Invalid REDIS_URL="redis+cluster://app:***@h1:7001,h2"');
    expect(loadConfig({ REDIS_URL: 'redis+cluster://127.0.0.1:7001,127.0.0.1:7002' }).redisUrl).to.equal('redis+cluster://127.0.0.1:7001,127.0.0.1:7002');
  });
});
